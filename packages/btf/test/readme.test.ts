import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";
import { BtfKind, dumpC } from "../src/index.js";
import { loadVmlinux618 } from "../src/vmlinux-6.18.js";

describe("README example", () => {
  it("is in the README and prints what its comment says", () => {
    const readme = readFileSync(join(repoRoot, "packages/btf/README.md"), "utf8");
    const example = [
      "const btf = loadVmlinux618();",
      'const task = btf.find("task_struct", BtfKind.STRUCT)!;',
      'console.log(btf.sizeof(task), btf.findMember(task, "pid")!.bitOffset / 8); // 3264 1264',
      "const vmlinuxH = dumpC(btf);",
    ];
    for (const line of example) expect(readme).toContain(line);
    const btf = loadVmlinux618();
    const task = btf.find("task_struct", BtfKind.STRUCT)!;
    expect([btf.sizeof(task), btf.findMember(task, "pid")!.bitOffset / 8]).toEqual([3264, 1264]);
    const vmlinuxH = dumpC(btf);
    expect(vmlinuxH.startsWith("#ifndef __VMLINUX_H__\n")).toBe(true);
  });
});
