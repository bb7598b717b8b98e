#!/usr/bin/env python3
"""Compile-fail checks: every snippet here must be rejected by the compiler with the message on
its `// expect:` line; ok_*.cpp snippets must compile (they prove the harness itself works).

usage: run.py INCLUDE_DIR COMPILER [COMPILER ARGS...]
"""
import pathlib
import subprocess
import sys


def main() -> int:
    include_dir, compiler = sys.argv[1], sys.argv[2:]
    here = pathlib.Path(__file__).resolve().parent
    failures = 0
    snippets = sorted(here.glob("*.cpp"))
    for snippet in snippets:
        expect = None
        for line in snippet.read_text().splitlines():
            if line.startswith("// expect:"):
                expect = line[len("// expect:"):].strip()
        if expect is None:
            print(f"FAIL {snippet.name}: no '// expect:' line")
            failures += 1
            continue
        cmd = compiler + ["-std=c++20", "-fsyntax-only", "-I", include_dir, str(snippet)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        if expect == "success":
            ok = proc.returncode == 0
            why = "" if ok else "should compile:\n" + output[-3000:]
        else:
            ok = proc.returncode != 0 and expect in output
            why = "" if ok else ("compiled, but should not" if proc.returncode == 0
                                 else f"failed without the message '{expect}':\n" + output[-3000:])
        print(("ok   " if ok else "FAIL ") + snippet.name + ("" if ok else ": " + why))
        failures += 0 if ok else 1
    print(f"{len(snippets) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
