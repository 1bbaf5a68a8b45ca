#!/usr/bin/env python3
"""Loads raw BPF programs as BPF_PROG_TYPE_SYSCALL and runs them under BPF_PROG_TEST_RUN.

Input (stdin): one JSON object per line, {"insns": HEX, "ctx": [HEX, ...]}.
Output (stdout): one JSON object per line, in order:
  {"ok": true, "runs": [{"retval": N, "ctx": HEX}, ...]}   or
  {"ok": false, "errno": N, "log": TEXT}                   (the program was rejected).
Raw bpf() through ctypes, no libbpf; part of the @bpfkit/vm differential test (needs root).
"""
import ctypes, json, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321
BPF_PROG_LOAD, BPF_PROG_TEST_RUN = 5, 10
BPF_PROG_TYPE_SYSCALL = 31
BPF_F_SLEEPABLE = 1 << 4
ATTR_SIZE = 144


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr.ljust(ATTR_SIZE, b"\0"), ATTR_SIZE)
    r = libc.syscall(SYS_BPF, cmd, buf, ATTR_SIZE)
    return r, ctypes.get_errno(), buf.raw


def load(insns):
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 20)
    # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf, kern_version, prog_flags
    attr = struct.pack("<IIQQIIQII", BPF_PROG_TYPE_SYSCALL, len(insns) // 8, ctypes.addressof(code),
                       ctypes.addressof(lic), 1, len(log), ctypes.addressof(log), 0, BPF_F_SLEEPABLE)
    fd, err, _ = bpf(BPF_PROG_LOAD, attr)
    if fd >= 0:
        return fd, None
    return -1, {"ok": False, "errno": err, "log": log.value.decode(errors="replace")}


def test_run(fd, ctx_in):
    ctx = ctypes.create_string_buffer(ctx_in, len(ctx_in))
    # prog_fd, retval, data_size_in/out, data_in/out, repeat, duration, ctx_size_in/out, ctx_in/out
    attr = struct.pack("<IIIIQQIIIIQQ", fd, 0, 0, 0, 0, 0, 0, 0, len(ctx_in), 0, ctypes.addressof(ctx), 0)
    r, err, raw = bpf(BPF_PROG_TEST_RUN, attr)
    if r < 0:
        return {"error": os.strerror(err)}
    # Syscall programs write their context back into ctx_in.
    return {"retval": struct.unpack_from("<I", raw, 4)[0], "ctx": ctx.raw.hex()}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        fd, rejected = load(bytes.fromhex(job["insns"]))
        if rejected is not None:
            print(json.dumps(rejected), flush=True)
            continue
        runs = [test_run(fd, bytes.fromhex(c)) for c in job["ctx"]]
        os.close(fd)
        print(json.dumps({"ok": True, "runs": runs}), flush=True)


if __name__ == "__main__":
    main()
