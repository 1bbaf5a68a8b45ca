import { describe, expect, it } from "vitest";
import { MAX, MapleTree, MaState, MaStatus } from "../src/index.js";

// The status table of lib/test_maple_tree.c check_state_handling (spec 1.12), as data: each row is
// an operation on one ma_state followed by the expected entry, index, last and status.
type Op =
  | ["set", bigint]
  | ["pause"]
  | ["status", MaStatus]
  | ["index", bigint]
  | ["next", bigint]
  | ["prev", bigint]
  | ["find", bigint]
  | ["findRev", bigint]
  | ["walk"];
type Row = [Op[], string | null, bigint, bigint, MaStatus];

const { active, root, none, overflow, underflow } = MaStatus;

const rootRows: Row[] = [
  [[["prev", 0n]], null, 0n, 0n, underflow],
  [
    [
      ["set", 10n],
      ["prev", 0n],
    ],
    "ptr",
    0n,
    0n,
    root,
  ],
  [[["set", 10n], ["pause"], ["prev", 0n]], "ptr", 0n, 0n, root],
  [
    [
      ["set", 0n],
      ["next", MAX],
    ],
    null,
    1n,
    MAX,
    none,
  ],
  [
    [
      ["set", 10n],
      ["next", MAX],
    ],
    null,
    1n,
    MAX,
    none,
  ],
  [
    [
      ["set", 0n],
      ["find", MAX],
    ],
    "ptr",
    0n,
    0n,
    root,
  ],
  [[["find", MAX]], null, 1n, MAX, none],
  [[["find", MAX]], null, 1n, MAX, none],
  [
    [
      ["set", 10n],
      ["find", MAX],
    ],
    null,
    1n,
    MAX,
    none,
  ],
  [[["findRev", 0n]], "ptr", 0n, 0n, root],
  [
    [
      ["set", 0n],
      ["findRev", 0n],
    ],
    "ptr",
    0n,
    0n,
    root,
  ],
  [[["findRev", 0n]], null, 0n, 0n, none],
  [[["findRev", 0n]], null, 0n, 0n, none],
  [
    [
      ["set", 10n],
      ["findRev", 0n],
    ],
    "ptr",
    0n,
    0n,
    root,
  ],
  [[["set", 10n], ["walk"]], null, 1n, MAX, none],
  [[["set", 10n], ["pause"], ["walk"]], null, 1n, MAX, none],
  [[["index", 10n], ["walk"]], null, 1n, MAX, none],
  [[["walk"]], null, 1n, MAX, none],
  [[["set", 0n], ["walk"]], "ptr", 0n, 0n, root],
  [[["set", 0n], ["pause"], ["walk"]], "ptr", 0n, 0n, root],
  [[["status", none], ["walk"]], "ptr", 0n, 0n, root],
  [[["walk"]], "ptr", 0n, 0n, root],
  [[["set", 10n], ["walk"]], null, 1n, MAX, none],
  [[["index", 0n], ["walk"]], "ptr", 0n, 0n, root],
];

const nodeRows: Row[] = [
  [
    [
      ["set", 0n],
      ["next", MAX],
    ],
    "ptr",
    0x1000n,
    0x1500n,
    active,
  ],
  [[["set", 0n], ["pause"], ["next", MAX]], "ptr", 0x1000n, 0x1500n, active],
  [
    [
      ["index", 0n],
      ["status", none],
      ["next", MAX],
    ],
    "ptr",
    0x1000n,
    0x1500n,
    active,
  ],
  [[["next", 0x2100n]], "ptr2", 0x2000n, 0x2500n, active],
  [[["next", 0x2999n]], null, 0x2501n, 0x2fffn, overflow],
  [[["next", MAX]], "ptr3", 0x3000n, 0x3500n, active],
  [[["next", MAX]], null, 0x3501n, MAX, overflow],
  [[["next", MAX]], null, 0x3501n, MAX, overflow],
  [[["prev", 0n]], "ptr3", 0x3000n, 0x3500n, active],
  [
    [
      ["set", 0n],
      ["next", MAX],
      ["status", none],
      ["next", MAX],
    ],
    "ptr2",
    0x2000n,
    0x2500n,
    active,
  ],
  [[["prev", 0n]], "ptr", 0x1000n, 0x1500n, active],
  [
    [
      ["next", MAX],
      ["prev", 0x1200n],
    ],
    "ptr",
    0x1000n,
    0x1500n,
    active,
  ],
  [[["prev", 0x1200n]], null, 0x1000n, 0x1500n, underflow],
  [[["prev", 0x100n]], null, 0n, 0xfffn, underflow],
  [[["prev", 0n]], null, 0n, 0xfffn, underflow],
  [[["prev", 0n]], null, 0n, 0xfffn, underflow],
  [[["next", MAX]], "ptr", 0x1000n, 0x1500n, active],
  [[["prev", 0x1000n]], null, 0x1000n, 0x1500n, underflow],
  [[["find", MAX]], "ptr", 0x1000n, 0x1500n, active],
  [[["set", 0x3600n], ["prev", 0n], ["pause"], ["prev", 0n]], "ptr2", 0x2000n, 0x2500n, active],
  [[["prev", 0x1600n]], null, 0x1501n, 0x1fffn, underflow],
  [[["prev", 0n]], "ptr", 0x1000n, 0x1500n, active],
  [
    [
      ["set", 0n],
      ["find", MAX],
    ],
    "ptr",
    0x1000n,
    0x1500n,
    active,
  ],
  [[["set", 0n], ["pause"], ["find", MAX]], "ptr", 0x1000n, 0x1500n, active],
  [
    [
      ["set", 1200n],
      ["find", MAX],
    ],
    "ptr",
    0x1000n,
    0x1500n,
    active,
  ],
  [[["find", MAX]], "ptr2", 0x2000n, 0x2500n, active],
  [[["find", 0x2700n]], null, 0x2501n, 0x2fffn, active],
  [[["find", 0x5000n]], "ptr3", 0x3000n, 0x3500n, active],
  [[["find", MAX]], null, 0x3501n, MAX, active],
  [[["findRev", 0n]], "ptr3", 0x3000n, 0x3500n, active],
  [[["findRev", 0n]], "ptr2", 0x2000n, 0x2500n, active],
  [[["pause"], ["findRev", 0n]], "ptr", 0x1000n, 0x1500n, active],
  [[["findRev", 0n]], null, 0n, 0xfffn, underflow],
  [
    [
      ["set", 0x1200n],
      ["findRev", 0n],
    ],
    "ptr",
    0x1000n,
    0x1500n,
    active,
  ],
  [[["set", 0x1200n], ["walk"]], "ptr", 0x1000n, 0x1500n, active],
  [[["set", 0x1600n], ["walk"]], null, 0x1501n, 0x1fffn, active],
  [[["set", 0x1200n], ["pause"], ["walk"]], "ptr", 0x1000n, 0x1500n, active],
  [[["set", 0x1600n], ["pause"], ["walk"]], null, 0x1501n, 0x1fffn, active],
  [[["set", 0x1200n], ["status", none], ["walk"]], "ptr", 0x1000n, 0x1500n, active],
  [[["set", 0x1600n], ["status", none], ["walk"]], null, 0x1501n, 0x1fffn, active],
  [[["index", 0x1200n], ["walk"]], "ptr", 0x1000n, 0x1500n, active],
  [[["index", 0x1600n], ["walk"]], null, 0x1501n, 0x1fffn, active],
];

function run(mas: MaState, rows: Row[]) {
  rows.forEach(([ops, entry, index, last, status], n) => {
    let got: unknown = null;
    for (const op of ops) {
      switch (op[0]) {
        case "set":
          mas.set(op[1]);
          break;
        case "pause":
          mas.pause();
          break;
        case "status":
          mas.status = op[1];
          break;
        case "index":
          mas.index = op[1];
          mas.last = op[1];
          break;
        case "next":
          got = mas.next(op[1]);
          break;
        case "prev":
          got = mas.prev(op[1]);
          break;
        case "find":
          got = mas.find(op[1]);
          break;
        case "findRev":
          got = mas.findRev(op[1]);
          break;
        case "walk":
          got = mas.walk();
          break;
      }
    }
    const where = `row ${n}: ${JSON.stringify(ops, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))}`;
    expect(got, where).toBe(entry);
    expect([mas.index, mas.last, mas.status], where).toEqual([index, last, status]);
  });
}

describe("ma_state status handling (check_state_handling)", () => {
  it("follows the table on a root-entry tree", () => {
    const tree = new MapleTree();
    tree.store(0n, 0n, "ptr");
    expect(tree.root).toBeNull();
    run(new MaState(tree, 0n), rootRows);
  });

  it("follows the table on a three-entry node tree", () => {
    const tree = new MapleTree();
    tree.store(0n, 0n, "ptr");
    tree.store(0n, 0n, null);
    tree.store(0x1000n, 0x1500n, "ptr");
    tree.store(0x2000n, 0x2500n, "ptr2");
    tree.store(0x3000n, 0x3500n, "ptr3");
    expect(tree.height).toBe(1);
    run(new MaState(tree, 0n), nodeRows);
  });
});
