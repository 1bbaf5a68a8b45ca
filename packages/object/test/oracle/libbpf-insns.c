// Parity oracle: opens a BPF object with the system libbpf (Debian: 1.1), loads it into the
// running kernel and prints, as one JSON object on stdout, the maps libbpf created and the final
// instruction stream of every program (bpf_program__insns after bpf_object__load). Map fds are
// recovered from libbpf's debug output so the caller can turn them back into map indices.
// Build: gcc -O1 -o libbpf-insns libbpf-insns.c -lbpf
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FDS 512
static struct {
	char name[64];
	int fd;
} created[MAX_FDS];
static int ncreated;
static char first_warn[1024];

static int on_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, args);
	const char *p = strstr(line, "map '");
	const char *q = strstr(line, "': created successfully, fd=");
	if (p && q && q > p && ncreated < MAX_FDS) {
		size_t n = (size_t)(q - (p + 5));
		if (n >= sizeof(created[0].name))
			n = sizeof(created[0].name) - 1;
		memcpy(created[ncreated].name, p + 5, n);
		created[ncreated].name[n] = 0;
		created[ncreated].fd = atoi(q + strlen("': created successfully, fd="));
		ncreated++;
	}
	/* the BTF-less retry of map creation is a warning, not the failure */
	if (level == LIBBPF_WARN && !first_warn[0] && !strstr(line, "Retrying without BTF")) {
		snprintf(first_warn, sizeof(first_warn), "%s", line);
		char *nl = strchr(first_warn, '\n');
		if (nl)
			*nl = 0;
	}
	return 0;
}

static void put_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int fd_of(const char *name)
{
	for (int i = ncreated - 1; i >= 0; i--)
		if (strcmp(created[i].name, name) == 0)
			return created[i].fd;
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJ\n", argv[0]);
		return 2;
	}
	libbpf_set_print(on_print);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("{\"open\":false,\"error\":");
		put_str(first_warn[0] ? first_warn : strerror(errno));
		printf("}\n");
		return 0;
	}
	/* Selftests size some maps at run time (max_entries 0 in the object); the kernel refuses
	 * those, which would stop libbpf before relocation. Give them a size and report the
	 * object's value, so the instructions can still be compared. */
	struct bpf_map *map;
	int nmaps = 0;
	unsigned int orig_max[1024];
	bpf_object__for_each_map(map, obj) {
		unsigned int max = bpf_map__max_entries(map);
		enum bpf_map_type t = bpf_map__type(map);
		if (nmaps < 1024)
			orig_max[nmaps] = max;
		nmaps++;
		/* storage maps must have 0; perf event arrays get one slot per CPU from libbpf */
		if (max != 0 || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY || t == BPF_MAP_TYPE_SK_STORAGE ||
		    t == BPF_MAP_TYPE_INODE_STORAGE || t == BPF_MAP_TYPE_TASK_STORAGE ||
		    t == 32 /* CGRP_STORAGE, newer than these headers */ || t == BPF_MAP_TYPE_CGROUP_STORAGE ||
		    t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE || t == BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		if (t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_USER_RINGBUF)
			bpf_map__set_max_entries(map, 4096);
		else
			bpf_map__set_max_entries(map, 1);
	}
	int err = bpf_object__load(obj);
	printf("{\"open\":true,\"loaded\":%s,\"error\":", err ? "false" : "true");
	put_str(err ? first_warn : "");
	printf(",\"maps\":[");
	int first = 1;
	int mi = 0;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd = bpf_map__fd(map);
		int have = 0;
		memset(&info, 0, sizeof(info));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			have = 1;
		printf("%s{\"name\":", first ? "" : ",");
		put_str(bpf_map__name(map));
		printf(",\"type\":%u,\"keySize\":%u,\"valueSize\":%u,\"maxEntries\":%u,\"flags\":%u",
		       have ? info.type : (unsigned)bpf_map__type(map),
		       have ? info.key_size : bpf_map__key_size(map),
		       have ? info.value_size : bpf_map__value_size(map),
		       have ? info.max_entries : bpf_map__max_entries(map),
		       have ? info.map_flags : bpf_map__map_flags(map));
		unsigned int om = mi < 1024 ? orig_max[mi] : 1;
		mi++;
		printf(",\"objectMaxEntries\":%u", om);
		/* global data and .kconfig: the bytes libbpf wrote into the map */
		size_t isz = 0;
		const unsigned char *init = bpf_map__initial_value(map, &isz);
		if (init) {
			printf(",\"initial\":\"");
			for (size_t i = 0; i < isz; i++)
				printf("%02x", init[i]);
			printf("\"");
		}
		printf(",\"kernel\":%s,\"autocreate\":%s,\"fd\":%d}", have ? "true" : "false",
		       bpf_map__autocreate(map) ? "true" : "false", fd >= 0 ? fd : fd_of(bpf_map__name(map)));
		first = 0;
	}
	printf("],\"programs\":[");
	struct bpf_program *prog;
	first = 1;
	bpf_object__for_each_program(prog, obj) {
		printf("%s{\"name\":", first ? "" : ",");
		put_str(bpf_program__name(prog));
		printf(",\"section\":");
		put_str(bpf_program__section_name(prog));
		printf(",\"type\":%d,\"expectedAttachType\":%d,\"autoload\":%s,\"insns\":\"",
		       (int)bpf_program__type(prog), (int)bpf_program__expected_attach_type(prog),
		       bpf_program__autoload(prog) ? "true" : "false");
		const unsigned char *p = (const unsigned char *)bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog) * sizeof(struct bpf_insn);
		for (size_t i = 0; p && i < n; i++)
			printf("%02x", p[i]);
		printf("\"}");
		first = 0;
	}
	printf("]}\n");
	bpf_object__close(obj);
	return 0;
}
