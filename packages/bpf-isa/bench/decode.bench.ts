import { bench, describe } from "vitest";
import type { Instruction } from "../src/index.js";
import { decode, encode } from "../src/index.js";
import { validSamples } from "../test/valid-opcodes.js";

// A 100,000-instruction program made of every valid opcode with varied fields.
const samples = validSamples();
const program: Instruction[] = [];
for (let i = 0; program.length < 100_000; i++) program.push(samples[i % samples.length] as Instruction);
const bytes = encode(program);

/** What a first attempt looks like: a DataView per instruction, one getter per field. */
function naiveDecode(input: Uint8Array): Instruction[] {
  const out: Instruction[] = [];
  for (let p = 0; p < input.length; p += 8) {
    const view = new DataView(input.buffer, input.byteOffset + p, 8);
    const code = view.getUint8(0);
    const regs = view.getUint8(1);
    const insn: Instruction = {
      code,
      dst: regs & 0xf,
      src: regs >> 4,
      off: view.getInt16(2, true),
      imm: view.getInt32(4, true),
    };
    if (code === 0x18) {
      insn.nextImm = new DataView(input.buffer, input.byteOffset + p + 8, 8).getInt32(4, true);
      p += 8;
    }
    out.push(insn);
  }
  return out;
}

describe(`decode ${program.length} instructions (${bytes.length} bytes)`, () => {
  bench("baseline: DataView per instruction and field", () => {
    naiveDecode(bytes);
  });
  bench("decode", () => {
    decode(bytes);
  });
});

describe(`encode ${program.length} instructions`, () => {
  bench("encode", () => {
    encode(program);
  });
});
