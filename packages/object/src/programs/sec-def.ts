/**
 * libbpf's SEC() name table (elf-object.md 3.1): which program type and expected attach type a
 * section name selects. Entries ending in `+` match the word alone or followed by `/...`; entries
 * ending in `/` match any name with that prefix; others match exactly. First match wins.
 */
export interface SecDef {
  pattern: string;
  /** `enum bpf_prog_type`. */
  progType: number;
  /** `enum bpf_attach_type` expected at load (0 where libbpf passes none). */
  expectedAttachType: number;
  sleepable: boolean;
}

/** `enum bpf_prog_type` names as bpftool prints them, indexed by number. */
export const PROG_TYPE_NAMES: readonly string[] = [
  "unspec",
  "socket_filter",
  "kprobe",
  "sched_cls",
  "sched_act",
  "tracepoint",
  "xdp",
  "perf_event",
  "cgroup_skb",
  "cgroup_sock",
  "lwt_in",
  "lwt_out",
  "lwt_xmit",
  "sock_ops",
  "sk_skb",
  "cgroup_device",
  "sk_msg",
  "raw_tracepoint",
  "cgroup_sock_addr",
  "lwt_seg6local",
  "lirc_mode2",
  "sk_reuseport",
  "flow_dissector",
  "cgroup_sysctl",
  "raw_tracepoint_writable",
  "cgroup_sockopt",
  "tracing",
  "struct_ops",
  "ext",
  "lsm",
  "sk_lookup",
  "syscall",
  "netfilter",
];

// [pattern, prog type, expected attach type, sleepable]
const TABLE: ReadonlyArray<readonly [string, number, number, boolean?]> = [
  ["socket", 1, 0],
  ["sk_reuseport/migrate", 21, 40],
  ["sk_reuseport", 21, 39],
  ["kprobe+", 2, 0],
  ["uprobe+", 2, 0],
  ["uprobe.s+", 2, 0, true],
  ["kretprobe+", 2, 0],
  ["uretprobe+", 2, 0],
  ["uretprobe.s+", 2, 0, true],
  ["kprobe.multi+", 2, 42],
  ["kretprobe.multi+", 2, 42],
  ["kprobe.session+", 2, 56],
  ["uprobe.multi+", 2, 48],
  ["uretprobe.multi+", 2, 48],
  ["uprobe.multi.s+", 2, 48, true],
  ["uretprobe.multi.s+", 2, 48, true],
  ["ksyscall+", 2, 0],
  ["kretsyscall+", 2, 0],
  ["usdt+", 2, 0],
  ["usdt.s+", 2, 0, true],
  ["tc/ingress", 3, 46],
  ["tc/egress", 3, 47],
  ["tcx/ingress", 3, 46],
  ["tcx/egress", 3, 47],
  ["tc", 3, 0],
  ["classifier", 3, 0],
  ["action", 4, 0],
  ["netkit/primary", 3, 54],
  ["netkit/peer", 3, 55],
  ["tracepoint+", 5, 0],
  ["tp+", 5, 0],
  ["raw_tracepoint+", 17, 0],
  ["raw_tp+", 17, 0],
  ["raw_tracepoint.w+", 24, 0],
  ["raw_tp.w+", 24, 0],
  ["tp_btf+", 26, 23],
  ["fentry+", 26, 24],
  ["fmod_ret+", 26, 26],
  ["fexit+", 26, 25],
  ["fentry.s+", 26, 24, true],
  ["fmod_ret.s+", 26, 26, true],
  ["fexit.s+", 26, 25, true],
  ["freplace+", 28, 0],
  ["lsm+", 29, 27],
  ["lsm.s+", 29, 27, true],
  ["lsm_cgroup+", 29, 43],
  ["iter+", 26, 28],
  ["iter.s+", 26, 28, true],
  ["syscall", 31, 0, true],
  ["xdp.frags/devmap", 6, 33],
  ["xdp/devmap", 6, 33],
  ["xdp.frags/cpumap", 6, 35],
  ["xdp/cpumap", 6, 35],
  ["xdp.frags", 6, 37],
  ["xdp", 6, 37],
  ["perf_event", 7, 0],
  ["lwt_in", 10, 0],
  ["lwt_out", 11, 0],
  ["lwt_xmit", 12, 0],
  ["lwt_seg6local", 19, 0],
  ["sockops", 13, 3],
  ["sk_skb/stream_parser", 14, 4],
  ["sk_skb/stream_verdict", 14, 5],
  ["sk_skb/verdict", 14, 38],
  ["sk_skb", 14, 0],
  ["sk_msg", 16, 7],
  ["lirc_mode2", 20, 16],
  ["flow_dissector", 22, 17],
  ["cgroup_skb/ingress", 8, 0],
  ["cgroup_skb/egress", 8, 1],
  ["cgroup/skb", 8, 0],
  ["cgroup/sock_create", 9, 2],
  ["cgroup/sock_release", 9, 34],
  ["cgroup/sock", 9, 2],
  ["cgroup/post_bind4", 9, 12],
  ["cgroup/post_bind6", 9, 13],
  ["cgroup/bind4", 18, 8],
  ["cgroup/bind6", 18, 9],
  ["cgroup/connect4", 18, 10],
  ["cgroup/connect6", 18, 11],
  ["cgroup/connect_unix", 18, 49],
  ["cgroup/sendmsg4", 18, 14],
  ["cgroup/sendmsg6", 18, 15],
  ["cgroup/sendmsg_unix", 18, 50],
  ["cgroup/recvmsg4", 18, 19],
  ["cgroup/recvmsg6", 18, 20],
  ["cgroup/recvmsg_unix", 18, 51],
  ["cgroup/getpeername4", 18, 29],
  ["cgroup/getpeername6", 18, 30],
  ["cgroup/getpeername_unix", 18, 52],
  ["cgroup/getsockname4", 18, 31],
  ["cgroup/getsockname6", 18, 32],
  ["cgroup/getsockname_unix", 18, 53],
  ["cgroup/sysctl", 23, 18],
  ["cgroup/getsockopt", 25, 21],
  ["cgroup/setsockopt", 25, 22],
  ["cgroup/dev", 15, 6],
  ["struct_ops+", 27, 0],
  ["struct_ops.s+", 27, 0, true],
  ["sk_lookup", 30, 36],
  ["netfilter", 32, 45],
];

/** The table in libbpf's match order. */
export const SEC_DEFS: readonly SecDef[] = TABLE.map(([pattern, progType, expectedAttachType, s]) => ({
  pattern,
  progType,
  expectedAttachType,
  sleepable: s === true,
}));

/** Finds the SEC definition for a program's section name (without the `?` prefix). */
export function findSecDef(name: string): SecDef | undefined {
  for (const def of SEC_DEFS) {
    const p = def.pattern;
    if (p.endsWith("+")) {
      const word = p.slice(0, -1);
      if (name === word || name.startsWith(`${word}/`)) return def;
    } else if (p.endsWith("/")) {
      if (name.startsWith(p)) return def;
    } else if (name === p) return def;
  }
  return undefined;
}
