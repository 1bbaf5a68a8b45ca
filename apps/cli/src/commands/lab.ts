import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { fileURLToPath } from "node:url";
import type { Btf } from "@bpfkit/btf";
import { parseBtf } from "@bpfkit/btf";
import type { KernelProfile, StructLayout } from "@bpfkit/kfuncs-task-vma";
import {
  btfForLayout,
  coreSizeDemo,
  DEFAULT_WALK_COSTS,
  failureRatePlot,
  MA_STATE_6_6,
  MA_STATE_6_12,
  MA_STATE_6_18,
  measureDesigns,
  structLayoutFromBtf,
  walkCost,
} from "@bpfkit/kfuncs-task-vma";
import type {
  InvocationInfo,
  KernelProfileName,
  ProgramSpec,
  SimResult,
  WorkloadSpec,
  WorkloadStats,
} from "@bpfkit/mem-alloc";
import { classIndexForRequest, HEADER_SIZE, SIZE_CLASSES, simulate, watermarksFor } from "@bpfkit/mem-alloc";
import { InvalidArgumentError, Option } from "commander";
import type { RegisterCommand } from "../context.js";

/**
 * The three task_vma designs (spec task-vma-kfuncs.md section 0): A, B and the rejected C, plus the
 * experimental "alloca" design: C's state carved at run time from an extensible stack, sized from the
 * target kernel's BTF (a TYPE_SIZE CO-RE relocation) instead of a size baked into the program.
 */
type Design = "original" | "snapshot" | "stack" | "alloca";
type LabKernel = "6.6" | "6.12" | "6.18";

const DESIGNS: readonly Design[] = ["original", "snapshot", "stack", "alloca"];
const KERNELS: readonly LabKernel[] = ["6.6", "6.12", "6.18"];
const BPF_STACK = 512;

const LIVE_BTF = "/sys/kernel/btf/vmlinux";

/** The running kernel's BTF when it is a 6.18 kernel (the lab's 6.18 profile), else undefined. */
function live618(): Btf | undefined {
  if (!release().startsWith("6.18.") || !existsSync(LIVE_BTF)) return undefined;
  return parseBtf(new Uint8Array(readFileSync(LIVE_BTF)));
}

interface KernelStructs {
  maState: StructLayout;
  /** Where maState comes from. */
  source: string;
  vmArea?: { size: number; align: number };
  allocator: KernelProfileName;
  /** Target BTF for CO-RE: the live one for 6.18 when running 6.18, else one built from the layout. */
  btf: Btf;
}

/**
 * Struct sizes per kernel: `struct ma_state` (= `struct vma_iterator`, task-vma-kfuncs.md 3.3) for
 * 6.6 from the spec's table, for 6.12 computed by clang from the 6.12 sources
 * (kfuncs-task-vma/src/lab/ma-state-6-12.sh), for 6.18 from the live BTF (the spec's 6.18 table
 * without it). vm_area_struct (design B's copy) comes from spec 3.4 (Debian amd64 config on 6.12)
 * and from the BTF on 6.18. The allocator profile is the code family of mem-alloc.md section 12.
 */
function kernelStructs(): Record<LabKernel, KernelStructs> {
  const live = live618();
  const liveMa = live ? structLayoutFromBtf(live, "ma_state") : undefined;
  const vmaId = live?.find("vm_area_struct");
  const ma618 = liveMa ?? MA_STATE_6_18;
  return {
    "6.6": {
      maState: MA_STATE_6_6,
      source: "spec task-vma-kfuncs.md 3.3",
      allocator: "2023",
      btf: btfForLayout(MA_STATE_6_6),
    },
    "6.12": {
      maState: MA_STATE_6_12,
      source: "linux-source-6.12 maple_tree.h, laid out by clang-19 (ma-state-6-12.sh)",
      vmArea: { size: 176, align: 8 },
      allocator: "6.12",
      btf: btfForLayout(MA_STATE_6_12),
    },
    "6.18": {
      maState: ma618,
      source: liveMa ? `live BTF ${LIVE_BTF} (${release()})` : "spec task-vma-kfuncs.md 3.3 (6.18 BTF table)",
      // BTF records no alignment attributes: vm_refcnt's ____cacheline_aligned (spec 3.4) is 64.
      vmArea: { size: live && vmaId !== undefined ? live.sizeof(vmaId) : 192, align: 64 },
      allocator: "6.18",
      btf: live ?? btfForLayout(MA_STATE_6_18),
    },
  };
}

let structsCache: Record<LabKernel, KernelStructs> | undefined;
function structs(): Record<LabKernel, KernelStructs> {
  structsCache ??= kernelStructs();
  return structsCache;
}

interface Member {
  size: number;
  align: number;
}

/** C struct layout: each member at its alignment, the total padded to the largest alignment. */
function structSize(members: readonly Member[]): number {
  let offset = 0;
  let maxAlign = 1;
  for (const m of members) {
    offset = Math.ceil(offset / m.align) * m.align + m.size;
    maxAlign = Math.max(maxAlign, m.align);
  }
  return Math.ceil(offset / maxAlign) * maxAlign;
}

const PTR: Member = { size: 8, align: 8 };

/** kern_data of design A/C: task, mm, deferred-unlock work pointer, vma_iterator (task-vma-kfuncs.md 3.2). */
function originalKernData(kernel: LabKernel): number {
  return structSize([PTR, PTR, PTR, { size: structs()[kernel].maState.size, align: 8 }]);
}

/** kern_data of design B: task, mm, a vm_area_struct snapshot, next_addr; absent before the 2026 series. */
function snapshotKernData(kernel: LabKernel): number | undefined {
  const vma = structs()[kernel].vmArea;
  return vma === undefined ? undefined : structSize([PTR, PTR, vma, PTR]);
}

interface LabOptions {
  design: Design[];
  kernel: LabKernel;
  cpus: number;
  nmiRate: number;
  taskRate: number;
  duration: number;
  vmas: number;
  nsPerVma: number;
  nmiIters: number;
  stackBudget: 88 | 96;
  stackExtension: number;
  seed: number;
  window: number;
  sweep: number[];
  bursts: number[];
  json?: boolean;
  measure?: boolean;
  plot?: string;
  coreObject: string;
}

/** fixtures/bpf/lab-iter-size.bpf.o: the TYPE_SIZE relocation on struct ma_state. */
const CORE_OBJECT = fileURLToPath(new URL("../../../../fixtures/bpf/lab-iter-size.bpf.o", import.meta.url));

/** The CO-RE question of the thread, answered with the fixture against the 6.12 and 6.18 profiles. */
function coreReport(path: string) {
  if (!existsSync(path)) return { available: false as const, reason: `${path} not found` };
  const all = structs();
  const profiles: KernelProfile[] = (["6.12", "6.18"] as const).map((k) => ({
    kernel: k,
    btf: all[k].btf,
    source: all[k].source,
  }));
  return { available: true as const, path, ...coreSizeDemo(new Uint8Array(readFileSync(path)), profiles) };
}

interface AllocCounts {
  invocations: number;
  /** Invocations the design refused before allocating (B with interrupts off: -EBUSY). */
  ebusyBeforeAllocating: number;
  attempts: number;
  ok: number;
  enomem: { emptyList: number; reentrant: number };
  failureRate: number;
}

function counts(w: WorkloadStats | undefined): AllocCounts {
  const attempts = w?.allocs ?? 0;
  const failed = (w?.failures.empty ?? 0) + (w?.failures.reentrant ?? 0) + (w?.failures.noClass ?? 0);
  return {
    invocations: w?.started ?? 0,
    ebusyBeforeAllocating: w?.outcomes.ebusy ?? 0,
    attempts,
    ok: w?.allocOk ?? 0,
    enomem: { emptyList: w?.failures.empty ?? 0, reentrant: w?.failures.reentrant ?? 0 },
    failureRate: attempts === 0 ? 0 : failed / attempts,
  };
}

/** One simulation of a design: task-context walkers on every CPU and perf-event (NMI) walkers at `nmiRate`. */
function runDesign(
  design: Design,
  kernData: number,
  o: LabOptions,
  nmiRate: number,
  nmiIters: number,
): SimResult {
  // kern_data lives from _new to _destroy: the whole modelled walk, program bodies included.
  const hold = walkCost(design, o.vmas, vmAreaSize(o.kernel), costs(o)).walkNs;
  // One walk: `iters` live iterators, each allocating kern_data at _new and freeing it at _destroy.
  // B refuses callers with interrupts off before allocating (task-vma-kfuncs.md 5.1 step 2).
  const walk =
    (iters: number) =>
    (info: InvocationInfo): ProgramSpec =>
      design === "snapshot" && info.irqsOff
        ? { allocs: [], outcome: "ebusy" }
        : { allocs: Array<number>(iters).fill(kernData), holdNs: hold, outcome: "walked" };
  const workloads: WorkloadSpec[] = [
    { name: "task", context: "task", ratePerSec: o.taskRate, program: walk(1) },
    { name: "nmi", context: "nmi", ratePerSec: nmiRate, program: walk(nmiIters) },
  ];
  return simulate({
    cpus: o.cpus,
    durationNs: o.duration * 1e9,
    seed: o.seed,
    profile: structs()[o.kernel].allocator,
    activeWindowNs: o.window,
    workloads,
  });
}

/** The summary fields every design entry of `bpfkit lab --json` carries. */
export interface DesignSummary {
  stackBytes: number;
  kernDataSize: number | null;
  sizeClass: number | null;
  allocFailures: number;
  failureRate: number;
  lockHoldNs: number | null;
  perVmaNs: number | null;
  fits: Record<string, boolean>;
  failuresByCause: Record<string, number>;
}

/**
 * The issue-8 summary fields of a design entry: stack and heap bytes, allocation failures, and the
 * lock hold time and per-VMA cost from @bpfkit/kfuncs-task-vma's cost model (`walkCost`, parameters
 * echoed in `workload.walkCosts`).
 */
function summary(entry: Record<string, unknown>, fields: DesignSummary): Record<string, unknown> {
  return Object.assign(entry, fields);
}

function vmAreaSize(kernel: LabKernel): number {
  return structs()[kernel].vmArea?.size ?? 0;
}

function costs(o: LabOptions) {
  return { ...DEFAULT_WALK_COSTS, bodyNs: o.nsPerVma };
}

/** Stack bytes of one live iterator: 8-byte opaque pointer (A, B), the budget (C), kern_data rounded to slots (alloca). */
function stackPerIterator(design: Design, o: LabOptions, kernData: number): number {
  if (design === "stack") return o.stackBudget;
  if (design === "alloca") return Math.ceil(kernData / 8) * 8;
  return 8;
}

function labReport(o: LabOptions) {
  // Wall-clock measurements only on request: without --measure the report depends on the seed alone.
  const measured = new Map(
    (o.measure
      ? measureDesigns(
          o.design.filter((d) => d !== "alloca"),
          { vmas: Math.max(1, o.vmas) },
        )
      : []
    ).map((m) => [m.design as Design, m]),
  );
  const designs = o.design.map((design) => {
    const live = Math.max(1, o.nmiIters);
    const size = design === "snapshot" ? snapshotKernData(o.kernel) : originalKernData(o.kernel);
    const perIterator = stackPerIterator(design, o, originalKernData(o.kernel));
    // alloca carves its iterators from the extension, not from the fixed 512-byte frame.
    const stackLimit = design === "alloca" ? o.stackExtension : BPF_STACK;
    const walkCosts = costs(o);
    const vmAreaBytes = vmAreaSize(o.kernel);
    const cost = walkCost(design, o.vmas, vmAreaBytes, walkCosts);
    const stackFits = perIterator * live <= stackLimit;
    const entry: Record<string, unknown> = {
      design,
      stack: {
        bytesPerIterator: perIterator,
        liveIterators: live,
        bytesUsed: perIterator * live,
        of: stackLimit,
        fits: stackFits,
      },
    };
    const m = measured.get(design);
    entry.costModel = { ...cost, costs: walkCosts, vmAreaBytes };
    if (m)
      entry.measured = { lockHoldNs: m.lockHoldNs, perVmaNs: m.perVmaNs, note: "wall time of the JS model" };
    const modelled = {
      lockHoldNs: Math.round(cost.lockHoldNs),
      perVmaNs: Math.round(cost.perVmaNs * 10) / 10,
    };
    if (size === undefined) {
      entry.available = false;
      return summary(entry, {
        stackBytes: perIterator,
        kernDataSize: null,
        sizeClass: null,
        allocFailures: 0,
        failureRate: 0,
        lockHoldNs: null,
        perVmaNs: null,
        fits: { stack: stackFits, available: false },
        failuresByCause: {},
      });
    }
    // The on-stack designs allocate nothing, so nothing can fail at run time.
    const onStack = {
      stackBytes: perIterator,
      kernDataSize: size,
      sizeClass: null,
      allocFailures: 0,
      failureRate: 0,
      ...modelled,
    };
    if (design === "stack") {
      entry.kernData = { size, onStack: true, budget: o.stackBudget, builds: size <= o.stackBudget };
      entry.allocations = null;
      return summary(entry, {
        ...onStack,
        fits: {
          stack: stackFits,
          budget88: size <= 88,
          budget96: size <= 96,
          builds: size <= o.stackBudget,
          ...Object.fromEntries(KERNELS.map((k) => [k, originalKernData(k) <= o.stackBudget])),
        },
        failuresByCause: {},
      });
    }
    if (design === "alloca") {
      // Sized per target kernel at load time: every kernel fits as long as the extension has room.
      entry.kernData = {
        size,
        onStack: true,
        sizedFrom: "target BTF (TYPE_SIZE relocation)",
        slots: perIterator / 8,
      };
      entry.allocations = null;
      return summary(entry, {
        ...onStack,
        fits: {
          stack: stackFits,
          ...Object.fromEntries(KERNELS.map((k) => [k, true])),
        },
        // A load-time refusal (the frame cannot be carved), not a run-time failure.
        failuresByCause: stackFits
          ? {}
          : { loadRefusedStackExtensionShortBytes: perIterator * live - stackLimit },
      });
    }
    const idx = classIndexForRequest(size);
    const unit = SIZE_CLASSES[idx] ?? 0;
    const marks = watermarksFor(unit);
    entry.kernData = {
      size,
      padded: size + HEADER_SIZE,
      sizeClass: unit,
      classIndex: idx,
      low: marks.low,
      high: marks.high,
      batch: marks.batch,
      prefill: marks.prefill,
      slackBytes: unit - size - HEADER_SIZE,
    };
    const run = runDesign(design, size, o, o.nmiRate, o.nmiIters);
    const task = counts(run.workloads[0]);
    const nmiCounts = counts(run.workloads[1]);
    entry.allocations = { task, nmi: nmiCounts };
    entry.allocator = {
      peakBytes: run.allocator.peakBytesFromSlab,
      refills: run.allocator.refills,
      trims: run.allocator.trims,
      irqWorkMaxDelayNs: run.irqWork.maxDelayNs,
    };
    entry.nmiRateSweep = o.sweep.map((rate) => sweepPoint(design, size, o, rate, o.nmiIters));
    entry.nmiBurstSweep = o.bursts.map((iters) => sweepPoint(design, size, o, o.nmiRate, iters));
    const failures = (c: AllocCounts) => c.enomem.emptyList + c.enomem.reentrant;
    return summary(entry, {
      stackBytes: perIterator,
      kernDataSize: size,
      sizeClass: unit,
      allocFailures: failures(task) + failures(nmiCounts),
      failureRate:
        task.attempts + nmiCounts.attempts === 0
          ? 0
          : (failures(task) + failures(nmiCounts)) / (task.attempts + nmiCounts.attempts),
      ...modelled,
      fits: { stack: stackFits, heapClass: unit > 0 },
      failuresByCause: {
        enomemEmptyList: task.enomem.emptyList + nmiCounts.enomem.emptyList,
        enomemReentrant: task.enomem.reentrant + nmiCounts.enomem.reentrant,
        ebusyIrqsOff: task.ebusyBeforeAllocating + nmiCounts.ebusyBeforeAllocating,
        taskContext: failures(task),
        nmiContext: failures(nmiCounts),
      },
    });
  });
  const structGrowth = KERNELS.map((kernel) => {
    const vmi = structs()[kernel].maState.size;
    const kern = originalKernData(kernel);
    return {
      kernel,
      maState: vmi,
      vmaIterator: vmi,
      source: structs()[kernel].source,
      kernData: kern,
      heapClass: SIZE_CLASSES[classIndexForRequest(kern)] ?? null,
      fits88: kern <= 88,
      spare88: 88 - kern,
      fits96: kern <= 96,
      spare96: 96 - kern,
    };
  });
  return {
    workload: {
      kernel: o.kernel,
      allocatorProfile: structs()[o.kernel].allocator,
      cpus: o.cpus,
      durationSec: o.duration,
      nmiRatePerSec: o.nmiRate,
      taskRatePerSec: o.taskRate,
      vmas: o.vmas,
      nsPerVma: o.nsPerVma,
      nmiIterators: o.nmiIters,
      stackBudget: o.stackBudget,
      stackExtension: o.stackExtension,
      activeWindowNs: o.window,
      seed: o.seed,
      walkCosts: costs(o),
    },
    designs,
    structGrowth,
    coreDemo: coreReport(o.coreObject),
  };
}

function sweepPoint(design: Design, size: number, o: LabOptions, rate: number, iters: number) {
  const run = runDesign(design, size, o, rate, iters);
  const nmi = counts(run.workloads[1]);
  const task = counts(run.workloads[0]);
  return {
    nmiRatePerSec: rate,
    nmiIterators: iters,
    nmiInvocations: nmi.invocations,
    nmiEbusyBeforeAllocating: nmi.ebusyBeforeAllocating,
    nmiAttempts: nmi.attempts,
    nmiEnomem: nmi.enomem,
    nmiFailureRate: nmi.failureRate,
    taskAttempts: task.attempts,
    taskFailures: task.enomem.emptyList + task.enomem.reentrant,
  };
}

type Report = ReturnType<typeof labReport>;

function formatText(report: Report): string {
  const w = report.workload;
  const lines: string[] = [];
  lines.push(
    `bpfkit lab: kernel ${w.kernel} (allocator ${w.allocatorProfile}), ${w.cpus} CPUs, ${w.durationSec} s, ` +
      `NMI ${w.nmiRatePerSec}/s and task ${w.taskRatePerSec}/s per CPU, ${w.vmas} VMAs x ${w.nsPerVma} ns, ` +
      `${w.nmiIterators} iterator(s) per NMI, seed ${w.seed}`,
    "",
  );
  const rows: string[][] = [["", ...report.designs.map((d) => String(d.design))]];
  const cell = (f: (d: Record<string, unknown>) => string) =>
    report.designs.map((d) => f(d as Record<string, unknown>));
  const get = (d: Record<string, unknown>, path: string): unknown =>
    path
      .split(".")
      .reduce<unknown>(
        (v, k) => (v === null || v === undefined ? undefined : (v as Record<string, unknown>)[k]),
        d,
      );
  rows.push([
    "stack bytes used",
    ...cell(
      (d) =>
        `${get(d, "stack.bytesUsed")} of ${get(d, "stack.of")}${get(d, "stack.fits") ? "" : " (too big)"}`,
    ),
  ]);
  rows.push([
    "kern_data",
    ...cell((d) => {
      if (d.available === false) return "not in this kernel";
      if (get(d, "kernData.sizedFrom")) return `${get(d, "kernData.size")} B carved at run time (target BTF)`;
      if (get(d, "kernData.onStack"))
        return `${get(d, "kernData.size")} B on stack${get(d, "kernData.builds") ? "" : ` (> ${get(d, "kernData.budget")}: build fails)`}`;
      return `${get(d, "kernData.size")} B -> class ${get(d, "kernData.sizeClass")} (idx ${get(d, "kernData.classIndex")})`;
    }),
  ]);
  const alloc = (who: "task" | "nmi") =>
    cell((d) => {
      if (d.available === false) return "-";
      if (d.allocations === null) return "no allocation";
      if (Number(get(d, `allocations.${who}.ebusyBeforeAllocating`)) > 0)
        return `-EBUSY x${get(d, `allocations.${who}.ebusyBeforeAllocating`)}`;
      return `${get(d, `allocations.${who}.attempts`)} tries, ENOMEM ${get(d, `allocations.${who}.enomem.emptyList`)} empty + ${get(d, `allocations.${who}.enomem.reentrant`)} reentrant`;
    });
  rows.push(["task allocations", ...alloc("task")]);
  rows.push(["NMI allocations", ...alloc("nmi")]);
  rows.push([
    "peak allocator bytes",
    ...cell((d) => (d.allocator ? String(get(d, "allocator.peakBytes")) : "-")),
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows)
    lines.push(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  for (const d of report.designs as Record<string, unknown>[]) {
    const rate = d.nmiRateSweep as ReturnType<typeof sweepPoint>[] | undefined;
    const burst = d.nmiBurstSweep as ReturnType<typeof sweepPoint>[] | undefined;
    if (rate === undefined || burst === undefined) continue;
    lines.push(
      "",
      `${d.design}: NMI failure rate by NMI rate (${w.nmiIterators} iterator(s) per NMI) and by iterators per NMI (${w.nmiRatePerSec}/s)`,
    );
    for (const p of [...rate, ...burst]) {
      const nmiPart =
        p.nmiEbusyBeforeAllocating === 0 || p.nmiAttempts > 0
          ? `NMI tries ${String(p.nmiAttempts).padStart(8)}  ENOMEM ${String(p.nmiEnomem.emptyList).padStart(6)} empty ` +
            `${String(p.nmiEnomem.reentrant).padStart(5)} reentrant  rate ${(p.nmiFailureRate * 100).toFixed(4)}%`
          : `NMI runs ${String(p.nmiInvocations).padStart(8)}  all -EBUSY before allocating`;
      lines.push(
        `  ${String(p.nmiRatePerSec).padStart(7)}/s x${String(p.nmiIterators).padEnd(3)} ${nmiPart}  task failures ${p.taskFailures}/${p.taskAttempts}`,
      );
    }
  }
  lines.push("", "struct growth (kern_data of the original design = 24 + vma_iterator):");
  for (const g of report.structGrowth) {
    lines.push(
      `  ${g.kernel.padEnd(5)} ma_state ${g.maState}  kern_data ${g.kernData} (heap ${g.heapClass})  ` +
        `88-byte budget: ${g.fits88 ? `fits, ${g.spare88} spare` : `breaks, ${-g.spare88} short`}  ` +
        `96-byte budget: ${g.fits96 ? `fits, ${g.spare96} spare` : `breaks, ${-g.spare96} short`}`,
    );
  }
  rows.length = 0;
  lines.push("", "lock hold and per-VMA cost (cost model, ns; parameters in --json workload.walkCosts):");
  for (const d of report.designs as Record<string, unknown>[])
    lines.push(
      `  ${String(d.design).padEnd(9)} lock hold ${String(d.lockHoldNs).padStart(8)}  per VMA ${String(d.perVmaNs).padStart(6)}  ` +
        `${String(get(d, "costModel.lock") ?? "")}`,
    );
  const core = report.coreDemo;
  if (core.available) {
    lines.push(
      "",
      `CO-RE: ${core.path}: bpf_core_type_size(struct ma_state) compiled as ${core.object.origVal}, relocated to ` +
        core.resolved.map((r) => `${r.newVal} on ${r.kernel}`).join(", "),
    );
    for (const r of core.rows)
      lines.push(
        `  built for ${r.builtFor}, loaded on ${r.loadedOn}: fixed ${r.fixedReserve} B vs needed ${r.needed} B: ${r.breakage}; ` +
          `with the relocation: ${r.coreSize} B${r.coreFits ? " (fits)" : " (WRONG)"}`,
      );
  }
  lines.push("", "not modelled: -EBUSY from mmap/alloc_lock trylocks and the deferred-unlock slot");
  return `${lines.join("\n")}\n`;
}

function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

function numberArg(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
    return n;
  };
}

function listArg<T>(parse: (v: string) => T) {
  return (value: string): T[] => value.split(",").map((v) => parse(v.trim()));
}

/**
 * `bpfkit lab`: the three task_vma designs and the experimental `alloca` one side by side, allocator
 * numbers from the @bpfkit/mem-alloc simulator, costs from @bpfkit/kfuncs-task-vma's cost model.
 *
 * `--json` prints one object:
 * - `workload`: the inputs (kernel, allocatorProfile, cpus, durationSec, nmiRatePerSec, taskRatePerSec,
 *   vmas, nsPerVma, nmiIterators, stackBudget, stackExtension, activeWindowNs, seed, walkCosts);
 * - `designs[]`: `design`; `stack` {bytesPerIterator, liveIterators, bytesUsed, of: 512, fits};
 *   `available: false` when the design is not in that kernel; `kernData` {size, padded, sizeClass,
 *   classIndex, low, high, batch, prefill, slackBytes} for heap designs or {size, onStack, budget,
 *   builds} for `stack`; `allocations` null (no allocation) or {task, nmi} each {invocations,
 *   ebusyBeforeAllocating, attempts, ok, enomem: {emptyList, reentrant}, failureRate}; `allocator`
 *   {peakBytes, refills, trims, irqWorkMaxDelayNs}; `nmiRateSweep[]` and `nmiBurstSweep[]`
 *   {nmiRatePerSec, nmiIterators, nmiInvocations, nmiEbusyBeforeAllocating, nmiAttempts, nmiEnomem,
 *   nmiFailureRate, taskAttempts, taskFailures};
 * - `structGrowth[]`: {kernel, maState, vmaIterator, source, kernData, heapClass, fits88, spare88, fits96, spare96};
 * - `coreDemo`: {available, path, object {localMaState, relocations, insnOff, origVal}, resolved[]
 *   {kernel, newVal, poison}, rows[] {builtFor, loadedOn, fixedReserve, needed, fixed, deltaBytes,
 *   breakage, coreSize, coreFits}} from fixtures/bpf/lab-iter-size.bpf.o against the 6.12 and 6.18 profiles.
 * Each design entry also carries the issue-8 summary: `stackBytes`, `kernDataSize`, `sizeClass`,
 * `allocFailures`, `failureRate` (task and NMI allocations together), `lockHoldNs` and `perVmaNs`
 * (cost model; `costModel` shows depth, lock and walkNs; `--measure` adds `measured`, the wall time of
 * the JS model), `fits` {stack; budget88/budget96/builds and one entry per kernel for `stack`; one entry
 * per kernel for `alloca`}, `failuresByCause`.
 */
export const registerLab: RegisterCommand = (program, context) => {
  program
    .command("lab")
    .description(
      "the task_vma design lab: stack use, kern_data size class, allocation failures under NMI load, struct growth",
    )
    .addOption(
      new Option("--design <list>", "designs, comma separated (original, snapshot, stack)")
        .default([...DESIGNS])
        .argParser(
          listArg((v) => {
            if (!DESIGNS.includes(v as Design))
              throw new InvalidArgumentError(`unknown design ${v} (original, snapshot, stack)`);
            return v as Design;
          }),
        ),
    )
    .addOption(
      new Option("--kernel <version>", "kernel whose struct sizes and allocator to use")
        .choices([...KERNELS])
        .default("6.18"),
    )
    .addOption(new Option("--cpus <n>", "CPUs").default(2).argParser(intArg("--cpus", 1, 256)))
    .addOption(
      new Option("--nmi-rate <per-sec>", "perf-event NMIs running the walker, per second per CPU")
        .default(1000)
        .argParser(numberArg("--nmi-rate", 0)),
    )
    .addOption(
      new Option("--task-rate <per-sec>", "task-context walks per second per CPU")
        .default(1000)
        .argParser(numberArg("--task-rate", 0)),
    )
    .addOption(
      new Option("--duration <sec>", "simulated seconds")
        .default(1)
        .argParser(numberArg("--duration", 0.000001)),
    )
    .addOption(new Option("--vmas <n>", "VMAs per walk").default(36).argParser(intArg("--vmas", 0)))
    .addOption(
      new Option(
        "--ns-per-vma <ns>",
        "BPF program body per VMA, run under the walk's lock (cost-model input)",
      )
        .default(100)
        .argParser(numberArg("--ns-per-vma", 0)),
    )
    .addOption(
      new Option("--nmi-iters <n>", "iterators live at once in one NMI (allocation pressure)")
        .default(1)
        .argParser(intArg("--nmi-iters", 1, 64)),
    )
    .addOption(
      new Option("--stack-budget <bytes>", "opaque size of the on-stack design")
        .choices(["88", "96"])
        .default("88"),
    )
    .addOption(
      new Option(
        "--stack-extension <bytes>",
        "alloca design: size of the run-time extensible stack its iterators are carved from",
      )
        .default(4096)
        .argParser(intArg("--stack-extension", 8)),
    )
    .addOption(
      new Option("--window <ns>", "length of one allocator critical section")
        .default(30)
        .argParser(numberArg("--window", 0)),
    )
    .addOption(
      new Option("--sweep <rates>", "NMI rates for the failure-rate sweep")
        .default([0, 1000, 10000, 100000])
        .argParser(listArg(numberArg("--sweep", 0))),
    )
    .addOption(
      new Option("--bursts <list>", "iterators per NMI for the burst sweep")
        .default([1, 8, 32, 60])
        .argParser(listArg(intArg("--bursts", 1, 64))),
    )
    .option("--seed <n>", "PRNG seed", intArg("--seed", 0), 1)
    .option("--json", "print JSON")
    .option("--plot <file.svg>", "write an SVG plot of failure rate against NMI rate (the --sweep rates)")
    .option("--core-object <file>", "object with the TYPE_SIZE relocation for the CO-RE demo", CORE_OBJECT)
    .option(
      "--measure",
      "also measure lock hold time and per-VMA cost of each design's kfunc model (wall time)",
    )
    .action((raw: Omit<LabOptions, "stackBudget"> & { stackBudget: string }) => {
      const options: LabOptions = { ...raw, stackBudget: raw.stackBudget === "96" ? 96 : 88 };
      const report = labReport(options);
      if (options.plot) {
        const series = (report.designs as Record<string, unknown>[]).map((d) => {
          const sweep = d.nmiRateSweep as ReturnType<typeof sweepPoint>[] | undefined;
          return {
            name: String(d.design),
            points: (sweep ?? options.sweep.map((r) => ({ nmiRatePerSec: r, nmiFailureRate: 0 }))).map(
              (p) => [p.nmiRatePerSec, p.nmiFailureRate] as const,
            ),
          };
        });
        writeFileSync(
          options.plot,
          failureRatePlot(
            series,
            `kern_data allocation failures, ${options.kernel}, ${options.cpus} CPUs, ${options.nmiIters} iterator(s) per NMI`,
          ),
        );
      }
      context.io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
    });
};
