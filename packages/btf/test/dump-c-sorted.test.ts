import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { skipReason } from "../../../scripts/test-env.js";
import { dumpC, findElfSection, parseBtf } from "../src/index.js";
import { loadVmlinux618 } from "../src/vmlinux-6.18.js";
import { hasBpftool, hasClang, linkFixtures } from "./helpers.js";

/** Heads of top-level definitions, in output order. */
function heads(text: string): string[] {
  return text.split("\n").filter((l) => /^(struct|union|enum|typedef)\b/.test(l));
}

describe("upstream sorted layout (--sort) on the bundled 6.18 BTF", () => {
  const text = dumpC(loadVmlinux618(), { sort: true });
  const lines = text.split("\n");

  it("has bpftool 7.5's sorted line count plus upstream's fastcall macro and fixed first record", () => {
    // spec 4: 7.5 sorted = 135,382 lines; upstream adds the 8-line __bpf_fastcall block and dumps the
    // first sort record (the anonymous ACOMP_WALK_SLEEP enum, 6 lines) that 7.5 skipped.
    expect(lines.length - 1).toBe(135_382 + 8 + 6);
    expect(text).toContain(
      "#ifndef __bpf_fastcall\n#if __has_attribute(bpf_fastcall)\n#define __bpf_fastcall __attribute__((bpf_fastcall))\n#else\n#define __bpf_fastcall\n#endif\n#endif\n\nenum {\n\tACOMP_WALK_SLEEP = 1,",
    );
  });

  it("ends with the kfunc block sorted by name with __bpf_fastcall prefixes", () => {
    const start = lines.indexOf("/* BPF kfuncs */");
    expect(lines[start - 1]).toBe("");
    expect(lines[start - 2]).toBe("");
    const block = lines.slice(start + 2, lines.indexOf("#endif", start));
    expect(block.length).toBe(203);
    // The function name is the first identifier before "(" once attributes are stripped.
    const names = block.map(
      (l) => /([A-Za-z_]\w*)\(/.exec(l.replace(/__attribute__\(\((?:[^()]|\([^()]*\))*\)\)/g, ""))?.[1] ?? "",
    );
    expect([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(names);
    expect(block).toContain("extern __bpf_fastcall void *bpf_cast_to_kern_ctx(void *obj) __weak __ksym;");
    // 6.18's TYPE_TAG 'address_space(1)' carries kind_flag 1, so upstream prints it as a raw attribute.
    expect(block).toContain(
      "extern void __attribute__((address_space(1))) *bpf_arena_alloc_pages(void *p__map, void __attribute__((address_space(1))) *addr__ign, u32 page_cnt, int node_id, u64 flags) __weak __ksym;",
    );
    expect(block).toContain(
      "extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, u64 addr) __weak __ksym;",
    );
    expect(block).toContain(
      "extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __weak __ksym;",
    );
  });

  it("orders anonymous enums, typedefs of enums, named enums, int typedefs, then structs", () => {
    const h = heads(text);
    // Typedefs of anonymous enums rank with named enums but sort by the empty name, so they lead.
    const firstNamedEnum = h.findIndex((l) => /^(enum \w|typedef enum)/.test(l));
    expect(h[firstNamedEnum]).toBe("typedef enum {");
    const firstTypedef = h.findIndex((l) => l.startsWith("typedef"));
    const firstStruct = h.findIndex((l) => /^struct \w+ \{/.test(l));
    expect(h.slice(0, firstNamedEnum).every((l) => l === "enum {")).toBe(true);
    expect(h.findIndex((l) => /^enum \w/.test(l))).toBeLessThan(
      h.findIndex((l) => /^typedef (unsigned )?(int|char|long)/.test(l)),
    );
    expect(firstTypedef).toBeLessThan(firstStruct);
    expect(text).toContain("} __attribute__((mode(byte)));");
  });
});

describe.skipIf(
  skipReason("sorted golden object", [
    [hasClang, "clang-19 not installed"],
    [hasBpftool, "bpftool not installed (links the golden object)"],
  ]),
)("upstream sorted layout on the golden object (spec 6.12)", () => {
  it("emits the documented order, with the suffixes moved by sorting", () => {
    const path = linkFixtures("golden", ["t1", "t2"]);
    const text = dumpC(parseBtf(findElfSection(new Uint8Array(readFileSync(path)), ".BTF")!), { sort: true });
    expect(heads(text)).toEqual([
      "enum big64 {",
      "enum neg {",
      "enum neg___2 {",
      "enum sbig64 {",
      "enum small {",
      "typedef unsigned int u32_t;",
      "typedef u32_t my_u32;",
      "typedef const my_u32 *cptr_t;",
      "struct aligned_s {",
      "struct bits {",
      "typedef int (*cb_t)(void *, long);",
      "struct inner {",
      "struct fwd_only;",
      "union u {",
      "struct packed_s {",
      "struct holes {",
      "struct everything {",
      "struct inner___2 {",
    ]);
    expect(text).toContain("enum neg {\n\tN_M = 7,\n};");
    expect(text).toContain("enum neg___2 {\n\tN_M___2 = -5,\n\tN_Z = 0,\n};");
    expect(text).toContain("enum small {\n\tS_A = 1,\n\tS_B = 200,\n} __attribute__((mode(byte)));");
    expect(text).toContain("\tenum neg___2 ng;\n");
    expect(text).toContain("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n#endif\n\n");
  });
});
