import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BtfKind, dumpRaw, parseBtf } from "../src/index.js";
import { loadVmlinux618, vmlinux618, vmlinux618Bytes, vmlinux618Info } from "../src/vmlinux-6.18.js";
import { VMLINUX } from "./helpers.js";

describe("bundled 6.18 vmlinux BTF profile", () => {
  it("decompresses, matches its recorded sha256 and parses", () => {
    const info = vmlinux618Info();
    expect(info.profile).toBe("6.18");
    expect(info.kernelRelease.startsWith("6.18")).toBe(true);
    const btf = loadVmlinux618();
    expect(btf.length - 1).toBe(info.types);
    expect(vmlinux618Bytes().byteLength).toBe(info.bytes);
    expect(vmlinux618.load()).toBe(btf);
    const task = btf.find("task_struct", BtfKind.STRUCT)!;
    expect(btf.sizeof(task)).toBeGreaterThan(1000);
    expect(btf.find("bpf_iter_task_vma_new", BtfKind.FUNC)).toBeDefined();
    expect(btf.kfuncs()).toContain(btf.find("bpf_iter_task_vma_next", BtfKind.FUNC));
  });

  it.skipIf(!existsSync(VMLINUX))("is the running kernel's BTF when this machine runs that kernel", () => {
    const live = new Uint8Array(readFileSync(VMLINUX));
    const bundled = vmlinux618Bytes();
    if (
      live.byteLength !== bundled.byteLength ||
      Buffer.compare(Buffer.from(live), Buffer.from(bundled)) !== 0
    ) {
      console.log("running kernel BTF differs from the bundled 6.18 profile; comparing structure only");
      expect(parseBtf(live).find("task_struct")).toBeDefined();
      return;
    }
    expect(dumpRaw(parseBtf(live)) === dumpRaw(loadVmlinux618())).toBe(true);
  });
});
