#!/usr/bin/env python3
"""Writes damaged copies of BPF objects whose type graphs a generator or loader must refuse
cleanly: cycles through every kind of BTF type that refers to another, names outside the
string section, references to type ids that do not exist, and bitfields moved around in
packed structs. The section sizes stay as they were, so each copy is still an ELF file
with a well-formed .BTF header: the damage is in the graph, past libbpf's first checks.

usage: btf_mutate.py OUT_DIR OBJECT...      (prints the number of files written)
"""
import os
import struct
import sys

KIND = {"int": 1, "ptr": 2, "array": 3, "struct": 4, "union": 5, "enum": 6, "fwd": 7, "typedef": 8,
        "volatile": 9, "const": 10, "restrict": 11, "func": 12, "func_proto": 13, "var": 14,
        "datasec": 15, "float": 16, "decl_tag": 17, "type_tag": 18, "enum64": 19}
# Kinds whose record is a bare btf_type that refers to one other type: any of them can be
# turned into another in place.
REF_KINDS = ["typedef", "volatile", "const", "restrict", "type_tag", "ptr"]


def extra(kind: int, vlen: int) -> int:
    per = {1: 4, 3: 12, 4: 12 * vlen, 5: 12 * vlen, 6: 8 * vlen, 13: 8 * vlen, 14: 4, 15: 12 * vlen,
           17: 4, 19: 12 * vlen}
    return per.get(kind, 0)


def btf_section(data: bytes, section: bytes = b".BTF"):
    """(offset, size) of `section` in an ELF64 little-endian object, or None."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def sh(i):
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
    stroff = sh(shstrndx)[4]
    for i in range(shnum):
        name, _, _, _, off, size = sh(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == section:
            return off, size
    return None


class Btf:
    def __init__(self, data: bytearray, off: int):
        self.data = data
        magic, _, _, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", data, off)
        if magic != 0xEB9F:
            raise ValueError("not BTF")
        self.str_len = str_len
        self.types = [None]  # id -> (record offset, kind, vlen)
        pos = off + hdr_len + type_off
        end = pos + type_len
        while pos < end:
            _, info, _ = struct.unpack_from("<III", data, pos)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            self.types.append((pos, kind, vlen))
            pos += 12 + extra(kind, vlen)

    def of_kind(self, name: str):
        return [i for i, t in enumerate(self.types) if t and t[1] == KIND[name]]

    def set_u32(self, at: int, v: int):
        struct.pack_into("<I", self.data, at, v & 0xFFFFFFFF)

    def set_kind(self, tid: int, kind: str):
        pos = self.types[tid][0]
        info, = struct.unpack_from("<I", self.data, pos + 4)
        self.set_u32(pos + 4, (info & ~(0x1F << 24)) | (KIND[kind] << 24))

    def ref_slot(self, tid: int, i: int = 0) -> int:
        """Where type `tid` stores the i-th id it refers to (members for structs, vars for datasecs)."""
        pos, kind, _ = self.types[tid]
        if kind == KIND["array"]:
            return pos + 12
        if kind in (KIND["struct"], KIND["union"]):
            return pos + 12 + 12 * i + 4
        if kind == KIND["datasec"]:
            return pos + 12 + 12 * i
        return pos + 8


def mutations(btf_off: int, data: bytes):
    """Yields (label, mutated bytes)."""
    def fresh():
        b = bytearray(data)
        return b, Btf(b, btf_off)
    _, base = fresh()
    # A self-reference and a two-step cycle through each referring kind, made from typedefs
    # turned into that kind.
    # Both ends of the type list: libbpf follows the first typedefs itself (map keys), so
    # only the last ones reach the generator's own walks.
    typedefs = base.of_kind("typedef")
    for end, (a, c) in (("first", typedefs[:2]), ("last", typedefs[-2:])) if len(typedefs) >= 2 else ():
        for k in REF_KINDS:
            b, g = fresh()
            g.set_kind(a, k)
            g.set_u32(g.ref_slot(a), a)
            yield f"self-{k}-{end}", b
            for k2 in ["const", "volatile", "typedef"]:
                b, g = fresh()
                g.set_kind(a, k)
                g.set_kind(c, k2)
                g.set_u32(g.ref_slot(a), c)
                g.set_u32(g.ref_slot(c), a)
                yield f"cycle-{k}-{k2}-{end}", b
    # Cycles on the types of global variables, which libbpf does not walk at open: what the
    # generator's own walks (through modifiers, typedefs, arrays) meet first.
    referring = {KIND[k] for k in REF_KINDS if k != "ptr"} | {KIND["array"]}
    seen = set()
    for var in base.of_kind("var"):
        first = struct.unpack_from("<I", base.data, base.ref_slot(var))[0]
        if first >= len(base.types) or first == 0 or base.types[first][1] not in referring:
            continue
        second = struct.unpack_from("<I", base.data, base.ref_slot(first))[0]
        kinds = (base.types[first][1],
                 base.types[second][1] if 0 < second < len(base.types) else 0)
        if kinds in seen:
            continue
        seen.add(kinds)
        names = {v: k for k, v in KIND.items()}
        b, g = fresh()
        if kinds[1] in referring:  # e.g. const -> volatile -> back to the const
            g.set_u32(g.ref_slot(second), first)
            yield f"global-cycle-{names[kinds[0]]}-{names[kinds[1]]}", b
        else:
            g.set_u32(g.ref_slot(first), first)
            yield f"global-self-{names[kinds[0]]}", b
    # Containers that contain themselves: an array of itself, a struct or union member of
    # its own type, a variable of a datasec pointing back at the datasec, through a typedef.
    for kind in ["array", "struct", "union", "datasec", "var"]:
        ids = [i for i in base.of_kind(kind) if kind not in ("struct", "union", "datasec") or base.types[i][2] > 0]
        if not ids:
            continue
        b, g = fresh()
        g.set_u32(g.ref_slot(ids[0]), ids[0])
        yield f"self-{kind}", b
        if typedefs:
            b, g = fresh()
            g.set_u32(g.ref_slot(ids[0]), typedefs[0])
            g.set_u32(g.ref_slot(typedefs[0]), ids[0])
            yield f"cycle-{kind}-typedef", b
        b, g = fresh()
        g.set_u32(g.ref_slot(ids[-1]), len(g.types) + 5)
        yield f"missing-id-{kind}", b
    # Names outside the string section: of a struct, a member, an enumerator, a variable.
    for kind, slot in [("struct", 0), ("struct", 12), ("enum", 12), ("var", 0), ("datasec", 0), ("int", 0)]:
        ids = [i for i in base.of_kind(kind) if slot == 0 or base.types[i][2] > 0]
        for n, tid in enumerate(ids[:3]):
            b, g = fresh()
            g.set_u32(g.types[tid][0] + slot, base.str_len + 1000)
            yield f"bad-name-{kind}{'-member' if slot else ''}-{n}", b
    # Bitfields in packed structs: a struct marked as having bitfields (kflag), its members
    # given bit sizes and offsets that straddle bytes, as `__attribute__((packed))` allows.
    for n, tid in enumerate([i for i in base.of_kind("struct") if base.types[i][2] >= 2][:6]):
        pos, _, vlen = base.types[tid]
        b, g = fresh()
        info, = struct.unpack_from("<I", b, pos + 4)
        g.set_u32(pos + 4, info | (1 << 31))
        bit = 0
        for i in range(vlen):
            size = (3, 8, 12, 1)[(i + n) % 4]
            g.set_u32(pos + 12 + 12 * i + 8, (size << 24) | bit)
            bit += size
        g.set_u32(pos + 8, (bit + 7) // 8)
        yield f"packed-bitfields-{n}", b


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = 0
    for obj in sys.argv[2:]:
        data = open(obj, "rb").read()
        sec = btf_section(data)
        if sec is None:
            continue
        stem = os.path.basename(obj).split(".")[0]
        for label, b in mutations(sec[0], data):
            with open(os.path.join(out, f"{stem}-{label}.bpf.o"), "wb") as f:
                f.write(b)
            written += 1
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
