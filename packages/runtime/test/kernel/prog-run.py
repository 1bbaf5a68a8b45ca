#!/usr/bin/env python3
"""Loads raw BPF programs into the live kernel with their maps and runs them with BPF_PROG_TEST_RUN.

stdin: [{"maps": [{"name", "type", "key", "value", "max", "flags", "init": [[keyhex, valuehex]], "freeze"}],
         "type": "syscall"|"xdp"|"socket_filter", "insns": hex, "ctx": hex|null, "data": hex|null}]
In "insns", an lddw with src_reg 1 or 2 (map fd / map value) carries the map's index in "maps" as
its imm; the driver replaces it with the fd. stdout: [{"retval", "ctx_out", "data_out",
"maps": {name: [[keyhex, valuehex]]}} or {"error": log}]. Needs root.
"""
import ctypes, json, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321
MAP_CREATE, LOOKUP, UPDATE, NEXT, PROG_LOAD, TEST_RUN, BTF_LOAD, FREEZE = 0, 1, 2, 4, 5, 10, 18, 22
PROG_TYPES = {"socket_filter": 1, "sched_cls": 3, "xdp": 6, "syscall": 31}
BPF_F_SLEEPABLE = 1 << 4


def bpf(cmd, attr, size=None):
    buf = ctypes.create_string_buffer(attr, max(len(attr), 160))
    r = libc.syscall(SYS_BPF, cmd, buf, size or max(len(attr), 160))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r, buf.raw


def elem(fd, key, value, flags=0):
    a = lambda b: ctypes.addressof(b) if b is not None else 0
    return struct.pack("<IIQQQ", fd, 0, a(key), a(value), flags)


def one(case):
    fds = []
    for m in case["maps"]:
        attr = struct.pack("<IIIIIII16s", m["type"], m["key"], m["value"], m["max"], m.get("flags", 0), 0, 0,
                           m["name"][:15].encode())
        fd, _ = bpf(MAP_CREATE, attr)
        for k, v in m.get("init", []):
            kb, vb = ctypes.create_string_buffer(bytes.fromhex(k), m["key"]), ctypes.create_string_buffer(bytes.fromhex(v), m["value"])
            bpf(UPDATE, elem(fd, kb, vb))
        if m.get("freeze"):
            bpf(FREEZE, struct.pack("<I", fd))
        fds.append(fd)
    code = bytearray(bytes.fromhex(case["insns"]))
    for off in range(0, len(code), 8):
        if code[off] == 0x18 and (code[off + 1] >> 4) in (1, 2):
            idx = struct.unpack_from("<i", code, off + 4)[0]
            struct.pack_into("<i", code, off + 4, fds[idx])
    insns = ctypes.create_string_buffer(bytes(code), len(code))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 20)
    flags = BPF_F_SLEEPABLE if case["type"] == "syscall" else 0
    btf_fd, finfo, fcount = 0, None, 0
    if case.get("btf"):
        # Callbacks need BTF func_info: one FUNC per subprogram, given as [insn_off, type_id] pairs.
        blob = ctypes.create_string_buffer(bytes.fromhex(case["btf"]))
        blog = ctypes.create_string_buffer(65536)
        btf_fd, _ = bpf(BTF_LOAD, struct.pack("<QQIII", ctypes.addressof(blob), ctypes.addressof(blog),
                                              len(blob.raw) - 1, len(blog), 1))
        fcount = len(case["func_info"])
        finfo = ctypes.create_string_buffer(b"".join(struct.pack("<II", a, b) for a, b in case["func_info"]))
    attr = struct.pack("<IIQQIIQII16sIIIIQI", PROG_TYPES[case["type"]], len(code) // 8, ctypes.addressof(insns),
                       ctypes.addressof(lic), 1, len(log), ctypes.addressof(log), 0, flags, b"rt_parity",
                       0, 0, btf_fd, 8 if fcount else 0, ctypes.addressof(finfo) if finfo else 0, fcount)
    try:
        pfd, _ = bpf(PROG_LOAD, attr)
    except OSError as e:
        return {"error": f"{e}: " + log.value.decode(errors="replace")[-2000:]}
    ctx_in = bytes.fromhex(case["ctx"]) if case.get("ctx") else b""
    data_in = bytes.fromhex(case["data"]) if case.get("data") else b""
    ctx = ctypes.create_string_buffer(ctx_in, max(len(ctx_in), 1))
    din = ctypes.create_string_buffer(data_in, max(len(data_in), 1))
    dout = ctypes.create_string_buffer(len(data_in) + 256)
    # struct test: prog_fd, retval, data_size_in, data_size_out, data_in, data_out, repeat, duration,
    # ctx_size_in, ctx_size_out, ctx_in, ctx_out, flags, cpu, batch_size
    # Syscall programs write the context back into ctx_in; the others into ctx_out.
    cout = ctypes.create_string_buffer(max(len(ctx_in), 1))
    out_ctx = ctx_in and case["type"] != "syscall"
    attr = struct.pack("<IIIIQQIIIIQQIII", pfd, 0, len(data_in), len(dout) if data_in else 0,
                       ctypes.addressof(din) if data_in else 0, ctypes.addressof(dout) if data_in else 0,
                       1 if case["type"] != "syscall" else 0, 0, len(ctx_in), len(ctx_in) if out_ctx else 0,
                       ctypes.addressof(ctx) if ctx_in else 0, ctypes.addressof(cout) if out_ctx else 0, 0, 0, 0)
    try:
        _, raw = bpf(TEST_RUN, attr)
    except OSError as e:
        return {"test_run_errno": e.errno}
    retval, = struct.unpack_from("<i", raw, 4)
    data_out_size, = struct.unpack_from("<I", raw, 12)
    ctx_out = (cout if out_ctx else ctx).raw[:len(ctx_in)].hex() if ctx_in else None
    out = {"retval": retval, "ctx_out": ctx_out,
           "data_out": dout.raw[:data_out_size].hex() if data_in else None, "maps": {}}
    for m, fd in zip(case["maps"], fds):
        entries = []
        if m["type"] in (1, 2, 9):
            key = None
            while True:
                nk = ctypes.create_string_buffer(m["key"])
                try:
                    bpf(NEXT, elem(fd, key, nk))
                except OSError:
                    break
                v = ctypes.create_string_buffer(m["value"] + 8)
                bpf(LOOKUP, elem(fd, nk, v))
                entries.append([nk.raw.hex(), v.raw[:m["value"]].hex()])
                key = nk
        out["maps"][m["name"]] = entries
    os.close(pfd)
    if btf_fd:
        os.close(btf_fd)
    for fd in fds:
        os.close(fd)
    return out


if __name__ == "__main__":
    json.dump([one(c) for c in json.load(sys.stdin)], sys.stdout)
