import { Errno } from "../errno.js";
import { RuntimeError } from "../error.js";
import { KF, type KfuncDef } from "./registry.js";

/** Most 64-bit words `bpf_iter_bits_new` accepts (`BITS_ITER_NR_WORDS_MAX`). */
export const BITS_ITER_NR_WORDS_MAX = 511;

/** Most iterations a `bpf_iter_num` may cover (`BPF_MAX_LOOPS`). */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;

/**
 * The generic kfuncs: task references, RCU read sections and the numeric iterator. The numeric
 * iterator keeps the kernel's state layout in the program's 8-byte `struct bpf_iter_num`:
 * `int cur` then `int end`, and `_next` returns a pointer to `cur`.
 */
export const GENERIC_KFUNCS: readonly KfuncDef[] = [
  {
    name: "bpf_task_from_pid",
    flags: KF.ACQUIRE | KF.RET_NULL,
    impl: (call, rt) => {
      const task = rt.tasks.get(call.argI32(1));
      if (!task) return 0n;
      task.refs++;
      return task.address;
    },
  },
  {
    name: "bpf_task_acquire",
    flags: KF.ACQUIRE | KF.RCU | KF.RET_NULL,
    impl: (call, rt) => {
      const task = rt.tasks.at(call.arg(1));
      if (!task) return 0n;
      task.refs++;
      return task.address;
    },
  },
  {
    name: "bpf_task_release",
    flags: KF.RELEASE,
    impl: (call, rt) => {
      const task = rt.tasks.at(call.arg(1));
      if (!task)
        throw new RuntimeError(`bpf_task_release of 0x${call.arg(1).toString(16)}, which is not a task`, {
          kind: "kfunc",
          name: "bpf_task_release",
        });
      if (task.refs <= 0)
        throw new RuntimeError(`bpf_task_release of task ${task.pid} without a reference`, {
          kind: "kfunc",
          name: "bpf_task_release",
        });
      task.refs--;
    },
  },
  {
    name: "bpf_rcu_read_lock",
    flags: 0,
    impl: (_call, rt) => {
      rt.state.rcuDepth++;
    },
  },
  {
    name: "bpf_rcu_read_unlock",
    flags: 0,
    impl: (_call, rt) => {
      rt.state.rcuDepth--;
    },
  },
  {
    name: "bpf_iter_num_new",
    flags: KF.ITER_NEW,
    impl: (call) => {
      const it = call.arg(1);
      const start = call.argI32(2);
      const end = call.argI32(3);
      const set = (cur: number, e: number): void => {
        call.memory.store(it, 4, BigInt(cur));
        call.memory.store(it + 4n, 4, BigInt(e));
      };
      if (start > end) {
        set(0, 0);
        return -Errno.EINVAL;
      }
      if (end - start > BPF_MAX_LOOPS) {
        set(0, 0);
        return -Errno.E2BIG;
      }
      // cur starts one below start so the first _next yields start.
      set(start - 1, end);
      return 0;
    },
  },
  {
    name: "bpf_iter_num_next",
    flags: KF.ITER_NEXT | KF.RET_NULL,
    impl: (call) => {
      const it = call.arg(1);
      const cur = Number(BigInt.asIntN(32, call.memory.load(it, 4)));
      const end = Number(BigInt.asIntN(32, call.memory.load(it + 4n, 4)));
      if (cur + 1 >= end) {
        call.memory.store(it, 4, 0n);
        call.memory.store(it + 4n, 4, 0n);
        return 0n;
      }
      call.memory.store(it, 4, BigInt(cur + 1));
      return it;
    },
  },
  {
    // State as the kernel lays it out: u64 bits (or the copy's pointer) at 0, nr_bits at 8, bit at
    // 12; _next returns a pointer to bit.
    name: "bpf_iter_bits_new",
    flags: KF.ITER_NEW,
    impl: (call, rt) => {
      const bitsCopies = rt.state.iterBits;
      const it = call.arg(1);
      const src = call.arg(2);
      const words = call.argU32(3);
      call.memory.store(it, 8, 0n);
      call.memory.store(it + 8n, 4, 0n);
      call.memory.store(it + 12n, 4, 0xffffffffn);
      bitsCopies.delete(it);
      if (src === 0n || words === 0) return -Errno.EINVAL;
      if (words > BITS_ITER_NR_WORDS_MAX) return -Errno.E2BIG;
      let copy: Uint8Array;
      try {
        copy = call.memory.read(src, words * 8).slice();
      } catch {
        return -Errno.EFAULT;
      }
      if (words === 1) call.memory.write(it, copy);
      else bitsCopies.set(it, copy);
      call.memory.store(it + 8n, 4, BigInt(words * 64));
      return 0;
    },
  },
  {
    name: "bpf_iter_bits_next",
    flags: KF.ITER_NEXT | KF.RET_NULL,
    impl: (call, rt) => {
      const it = call.arg(1);
      const nrBits = Number(call.memory.load(it + 8n, 4));
      let bit = Number(BigInt.asIntN(32, call.memory.load(it + 12n, 4)));
      if (nrBits === 0 || bit >= nrBits) return 0n;
      const bits = nrBits === 64 ? call.memory.read(it, 8) : rt.state.iterBits.get(it);
      if (!bits) return 0n;
      for (bit++; bit < nrBits; bit++) if (((bits[bit >> 3] as number) >> (bit & 7)) & 1) break;
      call.memory.store(it + 12n, 4, BigInt(Math.min(bit, nrBits)));
      return bit >= nrBits ? 0n : it + 12n;
    },
  },
  {
    name: "bpf_iter_bits_destroy",
    flags: KF.ITER_DESTROY,
    impl: (call, rt) => {
      rt.state.iterBits.delete(call.arg(1));
    },
  },
  {
    name: "bpf_iter_num_destroy",
    flags: KF.ITER_DESTROY,
    impl: (call) => {
      call.memory.store(call.arg(1), 8, 0n);
    },
  },
];
