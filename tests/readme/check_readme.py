#!/usr/bin/env python3
"""Compiles every ```cpp block of a Markdown file, so the README's code cannot rot.

A block whose first line is `// fragment` is a sequence of statements: it is compiled inside a
function, after tests/readme/prelude.hpp (which declares what fragments use). Any other block is
a translation unit of its own. Each is compiled with warnings as errors (-fsyntax-only:
templates are instantiated and checked, no code is generated).

usage: check_readme.py MARKDOWN INCLUDE_DIR [--eigen DIR] [--redis] -- COMPILER...
Blocks that include recall/adapters/eigen.hpp need --eigen; those including
recall/stores/redis_store.hpp need --redis (hiredis). Without them such blocks are reported as
skipped; every other block must compile.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile


def blocks(text):
    for match in re.finditer(r"^```cpp\n(.*?)^```", text, re.M | re.S):
        line = text.count("\n", 0, match.start()) + 1
        yield line, match.group(1)


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: check_readme.py MARKDOWN INCLUDE_DIR [--eigen DIR] [--redis] -- COMPILER...")
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("markdown")
    parser.add_argument("include")
    parser.add_argument("--eigen")
    parser.add_argument("--redis", action="store_true")
    args = parser.parse_args(argv[:split])
    compiler = argv[split + 1:]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(args.markdown, encoding="utf-8") as f:
        found = list(blocks(f.read()))
    if not found:
        sys.exit(f"{args.markdown}: no ```cpp blocks found")

    work = tempfile.mkdtemp(prefix="recall-readme-")
    jobs = []
    skipped = []
    for n, (line, code) in enumerate(found):
        if "recall/adapters/eigen.hpp" in code and not args.eigen:
            skipped.append((line, "Eigen not found"))
            continue
        if "recall/stores/redis_store.hpp" in code and not args.redis:
            skipped.append((line, "hiredis not found"))
            continue
        if code.startswith("// fragment\n"):
            source = f'#include "prelude.hpp"\n\nvoid readme_fragment_{n}() {{\n#line {line + 2}\n{code}}}\n'
        else:
            source = f"#line {line + 1}\n{code}"
        path = os.path.join(work, f"block_{line}.cpp")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        command = compiler + ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", here,
                              "-I", args.include, "-fsyntax-only", path]
        if args.eigen:
            command += ["-isystem", args.eigen]
        jobs.append((line, command))

    def run(job):
        line, command = job
        result = subprocess.run(command, capture_output=True, text=True)
        return line, result.returncode, result.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for line, code, errors in pool.map(run, jobs):
            if code == 0:
                print(f"ok   {args.markdown}:{line}")
            else:
                failed += 1
                print(f"FAIL {args.markdown}:{line}\n" + "\n".join(errors.splitlines()[:30]))
    for line, why in skipped:
        print(f"skip {args.markdown}:{line} ({why})")
    print(f"{len(jobs) - failed} compiled, {failed} failed, {len(skipped)} skipped")
    subprocess.run(["rm", "-rf", work], check=False)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
