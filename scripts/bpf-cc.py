#!/usr/bin/env python3
"""Compile one BPF C file and drop its DWARF, keeping BTF and BTF.ext.

usage: bpf-cc.py STRIP CLANG [clang arguments...]   (the arguments include -o OUTPUT)

clang needs -g to emit BTF, but the DWARF it also emits is ten times the size of the
rest and libbpf never reads it; removing it keeps embedded objects (and the headers
generated from them) small. Line information for verifier logs lives in .BTF.ext.
"""
import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    strip, clang, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    rc = subprocess.call([clang] + args)
    if rc != 0:
        return rc
    out = args[args.index("-o") + 1]
    return subprocess.call([strip, "--strip-debug", out])


if __name__ == "__main__":
    sys.exit(main())
