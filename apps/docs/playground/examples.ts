import type { Syntax } from "./session.js";

/** One program of the playground's example menu. */
export interface Example {
  id: string;
  title: string;
  /** What to look at once it has run. */
  note: string;
  syntax: Syntax;
  source: string;
  /** The memory buffer r1 points at, as hex bytes. */
  memory: string;
}

/** The example menu; the first entry is what the page opens with. */
export const EXAMPLES: readonly Example[] = [
  {
    id: "fnv",
    title: "FNV-1a over the buffer",
    note: "Hashes the r2 bytes at r1 with 32-bit FNV-1a; r0 is the hash.",
    syntax: "ubpf",
    memory: "68 65 6c 6c 6f",
    source: `# r1 = buffer, r2 = its length
mov32 %r0, 0x811c9dc5    # FNV offset basis
mov %r3, %r1
add %r3, %r2             # end of the buffer
loop:
jge %r1, %r3, done
ldxb %r4, [%r1]
xor32 %r0, %r4
mul32 %r0, 0x01000193    # FNV prime
add %r1, 1
ja loop
done:
exit
`,
  },
  {
    id: "loop",
    title: "A counting loop",
    note: "Sums 1..10 in a bounded loop; the trace shows r0 and r6 change on every pass.",
    syntax: "ubpf",
    memory: "",
    source: `mov %r0, 0
mov %r6, 1
again:
add %r0, %r6
add %r6, 1
jle %r6, 10, again
exit
`,
  },
  {
    id: "oob",
    title: "Out-of-bounds read (faults)",
    note: "Reads 8 bytes at offset 4 of a 5-byte buffer: the VM stops with the instruction, address and region.",
    syntax: "ubpf",
    memory: "01 02 03 04 05",
    source: `mov %r0, 0
ldxb %r0, [%r1]
ldxdw %r0, [%r1+4]       # bytes 4..11 of a 5-byte buffer
exit
`,
  },
  {
    id: "call",
    title: "bpf-to-bpf call",
    note: "Calls a subprogram that adds r1..r5; r6..r9 survive the call, the trace shows depth 2 inside it.",
    syntax: "ubpf",
    memory: "",
    source: `mov %r1, 1
mov %r2, 2
mov %r3, 3
mov %r4, 4
mov %r5, 5
mov %r6, 6
call local sum
add %r0, %r6             # 15 + 6
exit
sum:
mov %r0, %r1
add %r0, %r2
add %r0, %r3
add %r0, %r4
add %r0, %r5
mov %r6, 0               # callee-saved: restored on return
exit
`,
  },
  {
    id: "llvm",
    title: "LLVM syntax: load a byte",
    note: "The same instructions llvm-objdump prints: returns byte 2 of the buffer.",
    syntax: "llvm",
    memory: "aa bb 11 cc dd",
    source: `r0 = *(u8 *)(r1 + 0x2)
exit
`,
  },
];
