#!/usr/bin/env python3
"""Compile-fail check: compiles SNIPPET twice with the C++ compiler given after `--`.

    check.py SNIPPET EXPECT [--std=REJECTED[,ACCEPTED]] [--primary] -- COMPILER ARGS...

1. As is (with -std=REJECTED, default c++20): the compile must fail and the diagnostics
   must contain EXPECT; when the snippet marks a line `// rejected here`, they must name
   that line (the user's line, not one deep inside the library). With --primary, the
   first error of the diagnostics must be at that line, not merely a "required from
   here" note after an error inside the library.
2. With -DACCEPTED (and -std=ACCEPTED, default the same): the compile must succeed, so
   the failure in 1 is the one under test and not, say, a typo in the snippet.
"""
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    sep = args.index('--')
    snippet, expect = args[0], args[1]
    rejected_std = accepted_std = 'c++20'
    primary = '--primary' in args[2:sep]
    for opt in args[2:sep]:
        if opt.startswith('--std='):
            stds = opt[len('--std='):].split(',')
            rejected_std, accepted_std = stds[0], stds[-1]
    compiler = args[sep + 1:]
    with open(snippet, encoding='utf-8') as f:
        marked = [i + 1 for i, line in enumerate(f) if '// rejected here' in line]
    if len(marked) > 1:
        print(f'{snippet}: more than one line marked "// rejected here"')
        return 1
    base = compiler + ['-fsyntax-only', snippet]
    bad = subprocess.run(base + ['-std=' + rejected_std], capture_output=True, text=True)
    if bad.returncode == 0:
        print(f'{snippet}: compiled, but must be rejected')
        return 1
    if expect not in bad.stderr:
        print(f'{snippet}: rejected, but the diagnostics lack "{expect}":\n{bad.stderr[:6000]}')
        return 1
    if marked:
        where = f'{snippet.rsplit("/", 1)[-1]}:{marked[0]}:'
        if where not in bad.stderr:
            print(f'{snippet}: the diagnostics do not name the caller\'s line {where}:\n{bad.stderr[:6000]}')
            return 1
        first_error = next((line for line in bad.stderr.splitlines() if ' error: ' in line), '')
        if primary and where not in first_error.replace(snippet, snippet.rsplit('/', 1)[-1]):
            print(f'{snippet}: the first error is not at the caller\'s line {where}: {first_error}')
            return 1
    good = subprocess.run(base + ['-std=' + accepted_std, '-DACCEPTED'], capture_output=True, text=True)
    if good.returncode != 0:
        print(f'{snippet}: the accepted variant (-DACCEPTED) does not compile:\n{good.stderr[:6000]}')
        return 1
    errors = bad.stderr.count('error:')
    at = f' at line {marked[0]}' if marked else ''
    print(f'{snippet}: rejected{at} with -std={rejected_std} and "{expect}" ({errors} error(s)); '
          f'accepted variant compiles with -std={accepted_std}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
