#!/usr/bin/env python3
"""Runs map operation scenarios against the live kernel with raw bpf() calls; prints errnos as JSON.

stdin: [{"map": {"type", "key", "value", "max", "flags", "inner"?}, "ops": [[op, ...args]]}]
ops: ["update", keyhex|null, valuehex, flags], ["lookup", keyhex|null, flags], ["delete", keyhex|null],
     ["next", keyhex|null], ["lookup_and_delete", keyhex|null, flags], ["freeze"],
     ["update_fd", keyhex, "inner"|"bad"|"nofd"|"prog_socket_filter"|"prog_xdp", flags]
stdout: [{"create": errno, "results": [[errno, valuehex|null]]}]; errno 0 means success.
Needs root (bpf() with CAP_BPF).
"""
import ctypes, json, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321
MAP_CREATE, LOOKUP, UPDATE, DELETE, NEXT, LOOKUP_AND_DELETE, FREEZE = 0, 1, 2, 3, 4, 21, 22


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_BPF, cmd, buf, 128)
    return (r, 0) if r >= 0 else (-1, ctypes.get_errno())


def int_btf():
    """BTF: [1] int, [2] long, [3] struct bpf_spin_lock {int val}, [4] struct val {lock l; int x; long y}."""
    types = struct.pack("<III", 1, 1 << 24, 4) + struct.pack("<I", (1 << 24) | 32)
    types += struct.pack("<III", 5, 1 << 24, 8) + struct.pack("<I", (1 << 24) | 64)
    types += struct.pack("<III", 10, (4 << 24) | 1, 4) + struct.pack("<III", 24, 1, 0)
    types += struct.pack("<III", 0, (4 << 24) | 3, 16) + struct.pack("<III", 28, 3, 0)
    types += struct.pack("<III", 30, 1, 32) + struct.pack("<III", 32, 2, 64)
    strs = b"\0int\0long\0bpf_spin_lock\0val\0l\0x\0y\0"
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    blob = ctypes.create_string_buffer(hdr + types + strs)
    fd, err = bpf(18, struct.pack("<QQIII", ctypes.addressof(blob), 0, len(blob.raw) - 1, 0, 0))
    if fd < 0:
        raise SystemExit(f"BTF_LOAD failed: errno {err}")
    return fd


def create(m):
    inner_fd = create(m["inner"])[0] if "inner" in m else 0
    btf = (int_btf(), 1, 4 if m.get("btf") == "lock" else 2) if m.get("btf") else (0, 0, 0)
    attr = struct.pack("<IIIIIII16sIIII", m["type"], m["key"], m["value"], m["max"], m.get("flags", 0),
                       inner_fd, 0, b"rt_oracle", 0, *btf)
    return bpf(MAP_CREATE, attr)


SELF_PIDFD = None


def buf(hexstr, size):
    global SELF_PIDFD
    if hexstr is None:
        return None
    if hexstr in ("self", "badfd"):
        # Task storage keys are pidfds: "self" is this process, "badfd" no open file.
        if hexstr == "self" and SELF_PIDFD is None:
            SELF_PIDFD = os.pidfd_open(os.getpid())
        fd = SELF_PIDFD if hexstr == "self" else 9999
        return ctypes.create_string_buffer(struct.pack("<i", fd), 4)
    b = bytes.fromhex(hexstr)
    return ctypes.create_string_buffer(b, max(len(b), size, 1))


def addr(b):
    return ctypes.addressof(b) if b is not None else 0


def elem(fd, key, value, flags):
    return struct.pack("<IIQQQ", fd, 0, addr(key), addr(value), flags)


def run(sc):
    m = sc["map"]
    fd, err = create(m)
    if fd < 0:
        return {"create": err, "results": []}
    ncpu = len(range_of_possible())
    vsize = m["value"]
    if m["type"] in (5, 6, 10):
        vsize = ((vsize + 7) & ~7) * ncpu
    extra = {}
    results = []
    for op in sc["ops"]:
        kind = op[0]
        if kind == "update":
            k, v = buf(op[1], m["key"]), buf(op[2], vsize)
            r, e = bpf(UPDATE, elem(fd, k, v, op[3]))
            results.append([e, None])
        elif kind == "update_fd":
            which = op[2]
            if which not in extra:
                if which == "inner":
                    extra[which] = create(m["inner"])[0]
                elif which == "bad":
                    bad = dict(m["inner"])
                    bad["value"] = bad["value"] + 8
                    extra[which] = create(bad)[0]
                elif which.startswith("prog_"):
                    extra[which] = load_prog(which[5:])
                else:
                    extra[which] = 9999
            k, v = buf(op[1], m["key"]), ctypes.create_string_buffer(struct.pack("<I", extra[which]), 4)
            r, e = bpf(UPDATE, elem(fd, k, v, op[3]))
            results.append([e, None])
        elif kind in ("lookup", "lookup_and_delete"):
            k, v = buf(op[1], m["key"]), ctypes.create_string_buffer(max(vsize, 8))
            r, e = bpf(LOOKUP if kind == "lookup" else LOOKUP_AND_DELETE, elem(fd, k, v, op[2]))
            results.append([e, v.raw[:vsize].hex() if e == 0 else None])
        elif kind == "delete":
            k = buf(op[1], m["key"])  # keep the buffer alive while bpf() reads it
            r, e = bpf(DELETE, elem(fd, k, None, 0))
            results.append([e, None])
        elif kind == "next":
            k, n = buf(op[1], m["key"]), ctypes.create_string_buffer(max(m["key"], 1))
            r, e = bpf(NEXT, elem(fd, k, n, 0))
            results.append([e, n.raw[:m["key"]].hex() if e == 0 else None])
        elif kind == "freeze":
            r, e = bpf(FREEZE, struct.pack("<I", fd))
            results.append([e, None])
        else:
            raise SystemExit("unknown op " + kind)
    os.close(fd)
    for x in extra.values():
        if x != 9999 and x >= 0:
            os.close(x)
    return {"create": 0, "results": results}


def load_prog(kind):
    """A two-instruction program (r0 = 0; exit) of type socket_filter or xdp: a prog_array value."""
    code = ctypes.create_string_buffer(bytes.fromhex("b700000000000000" "9500000000000000"), 16)
    lic = ctypes.create_string_buffer(b"GPL")
    ptype = {"socket_filter": 1, "xdp": 6}[kind]
    attr = struct.pack("<IIQQIIQII16s", ptype, 2, ctypes.addressof(code), ctypes.addressof(lic), 0, 0, 0, 0, 0,
                       b"rt_oracle")
    fd, err = bpf(5, attr)
    if fd < 0:
        raise SystemExit(f"cannot load a {kind} program: errno {err}")
    return fd


def range_of_possible():
    text = open("/sys/devices/system/cpu/possible").read().strip()
    cpus = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        cpus.extend(range(int(a), int(b or a) + 1))
    return cpus


if __name__ == "__main__":
    json.dump([run(sc) for sc in json.load(sys.stdin)], sys.stdout)
