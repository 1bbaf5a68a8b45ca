import { describe, expect, it } from "vitest";
import { parseBtf } from "../src/index.js";
import { latin1String } from "../src/strings.js";

describe("latin1String", () => {
  it("maps every byte to the char with the same code, 0x80-0x9f included", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const { text, ascii } = latin1String(bytes);
    expect(ascii).toBe(false);
    expect(text.length).toBe(256);
    for (let i = 0; i < 256; i++) expect(text.charCodeAt(i)).toBe(i);
  });

  it("takes the ASCII path for ASCII tables and agrees with byte offsets past 8 KiB chunks", () => {
    const big = new Uint8Array(20_000).map((_, i) => (i % 7 === 0 ? 0 : 0x61 + (i % 26)));
    expect(latin1String(big)).toEqual({ text: String.fromCharCode(...big), ascii: true });
    big[19_999] = 0x85;
    const { text, ascii } = latin1String(big);
    expect(ascii).toBe(false);
    expect(text).toBe(String.fromCharCode(...big));
  });

  it("finds a high byte in any position of an unaligned view", () => {
    const buf = new Uint8Array(64).fill(0x41);
    for (let start = 0; start < 4; start++)
      for (let at = start; at < 40; at++) {
        const view = buf.subarray(start, 40);
        buf[at] = 0x9c;
        expect(latin1String(view).ascii).toBe(false);
        expect(latin1String(view).text.charCodeAt(at - start)).toBe(0x9c);
        buf[at] = 0x41;
        expect(latin1String(view).ascii).toBe(true);
      }
  });
});

describe("names next to non-ASCII strings", () => {
  it("finds each name's end by its byte offset", () => {
    // One INT named by the string after a 0x80-0x9f run: the offsets must not drift.
    const strs = [0, 0x80, 0x85, 0x9f, 0xff, 0, ...[..."int"].map((c) => c.charCodeAt(0)), 0];
    const types = new Uint32Array([6, 0x01000000, 4, 32]);
    const hdr = new DataView(new ArrayBuffer(24));
    hdr.setUint16(0, 0xeb9f, true);
    hdr.setUint8(2, 1);
    hdr.setUint32(4, 24, true);
    hdr.setUint32(8, 0, true);
    hdr.setUint32(12, types.byteLength, true);
    hdr.setUint32(16, types.byteLength, true);
    hdr.setUint32(20, strs.length, true);
    const bytes = new Uint8Array(24 + types.byteLength + strs.length);
    bytes.set(new Uint8Array(hdr.buffer), 0);
    bytes.set(new Uint8Array(types.buffer), 24);
    bytes.set(strs, 24 + types.byteLength);
    const btf = parseBtf(bytes);
    expect(btf.name(1)).toBe("int");
    expect(btf.str(1)).toBe(new TextDecoder().decode(new Uint8Array([0x80, 0x85, 0x9f, 0xff])));
  });
});
