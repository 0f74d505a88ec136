#!/usr/bin/env python3
"""Writes the build files docs/recipes.md shows, as written, for scripts/test-consumer.sh.

A code block preceded by the line `<!-- built by scripts/test-consumer.sh: recipe/FILE -->`
is appended to OUT/FILE; the blocks of one file are joined in the order of the document.

    recipe-snippets.py docs/recipes.md OUT
"""
import pathlib
import re
import sys

MARK = re.compile(r"^<!-- built by scripts/test-consumer\.sh: recipe/(\S+) -->$")


def main() -> int:
    doc, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    lines = doc.read_text().splitlines()
    files: dict[str, list[str]] = {}
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            print(f"{doc}:{i}: a recipe marker must be followed by a code block", file=sys.stderr)
            return 1
        i += 1
        block = []
        while i < len(lines) and not lines[i].startswith("```"):
            block.append(lines[i])
            i += 1
        files.setdefault(m.group(1), []).append("\n".join(block))
    if not files:
        print(f"{doc}: no recipe markers", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name, blocks in files.items():
        (out / name).write_text("\n\n".join(blocks) + "\n")
        print(f"{out / name}: {len(blocks)} snippet(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
