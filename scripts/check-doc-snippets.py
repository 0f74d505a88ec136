#!/usr/bin/env python3
"""Checks that the code blocks of a document marked `<!-- compiled in PATH -->` are in
PATH, line for line and in order (leading and trailing blanks aside), so the examples the
documentation shows are the ones the test suite compiles and runs.

    check-doc-snippets.py ROOT DOC.md...
"""
import pathlib
import re
import sys

MARK = re.compile(r"^<!-- compiled in (\S+) -->$")


def snippets(doc: pathlib.Path):
    lines = doc.read_text().splitlines()
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if not m:
            continue
        j = i + 2  # past the fence
        block = []
        while j < len(lines) and not lines[j].startswith("```"):
            block.append(lines[j])
            j += 1
        yield i + 1, m.group(1), block


def contains_in_order(haystack: list[str], needle: list[str]) -> bool:
    want = [l.strip() for l in needle if l.strip()]
    have = [l.strip() for l in haystack if l.strip()]
    for start in range(len(have) - len(want) + 1):
        if have[start:start + len(want)] == want:
            return True
    return False


def main() -> int:
    root, docs = pathlib.Path(sys.argv[1]), sys.argv[2:]
    bad = checked = 0
    for d in docs:
        for line, path, block in snippets(root / d):
            checked += 1
            source = (root / path).read_text().splitlines()
            if contains_in_order(source, block):
                print(f"ok: {d}:{line} is in {path}")
            else:
                print(f"FAILED: {d}:{line}: the snippet is not in {path} as written")
                bad += 1
    print(f"libbpfcpp-test-cases: passed={checked - bad} failed={bad} skipped=0")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
