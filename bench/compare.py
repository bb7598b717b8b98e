#!/usr/bin/env python3
"""Runs recall's benchmark suite, the same workloads through Python's joblib.Memory and diskcache,
and prints one table: each recall figure, the physical floor it is judged against (measured in the
same binary, same run), the ratio, the target, and the Python anchors with their ratios.

    bench/run.sh                       # the one command: installs, builds (release), runs this
    python3 bench/compare.py --build build-bench [--work DIR] [--quick] [--markdown FILE]

Timing policy (the machine is shared, so wall clocks are noisy):
  - single-threaded rows use CPU time of the calling thread (Google Benchmark's cpu_time; Python's
    time.thread_time_ns), the median over interleaved repetitions / per-call samples;
  - the thread-scaling row uses wall-clock throughput, next to the same-run scaling of a
    read-only floor loop (what the machine could give at that moment);
  - the cold-process row uses hyperfine -N (wall median and user+system CPU);
  - instruction counts (callgrind, exactly repeatable) back the hot-path and mutation rows.
"""
import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1 << 20


# ----------------------------------------------------------------------------------------------
# Python side: the same workloads through functools.lru_cache, joblib.Memory and diskcache.
# Module-level functions, as joblib needs them.

def small(a, b):
    return a * b + 1.0


def store_small(a, salt):
    return a + salt


def big_result(count):
    import numpy as np

    return np.arange(count, dtype=np.float64) + 0.25


def python_side(work, large_bytes):
    import gc
    import functools
    import random

    import numpy as np
    import joblib
    import diskcache

    cpu = time.thread_time_ns
    wall = time.perf_counter_ns
    out = {"versions": {"python": platform.python_version(), "joblib": joblib.__version__,
                        "diskcache": diskcache.__version__, "numpy": np.__version__}}

    # What reading the thread's CPU clock costs, taken off every per-call sample.
    overhead = statistics.median((lambda: (lambda c0: cpu() - c0)(cpu()))() for _ in range(2001))

    def per_call(fn, argument_lists):
        samples, walls = [], []
        gc.disable()
        try:
            for args in argument_lists:
                w0 = wall()
                c0 = cpu()
                fn(*args)
                c1 = cpu()
                w1 = wall()
                samples.append(c1 - c0 - overhead)
                walls.append(w1 - w0)
        finally:
            gc.enable()
        return {"cpu_ns": statistics.median(samples), "wall_ns": statistics.median(walls), "calls": len(samples)}

    salt = random.Random().randrange(1 << 40) * 100000.0

    # functools.lru_cache: a loop of hits, timed per round (the loop is part of the figure).
    lru = functools.lru_cache(maxsize=None)(small)
    lru(1.5, 2.5)
    rounds = []
    n = 100000
    gc.disable()
    for _ in range(15):
        a, b = 1.5, 2.5
        c0 = cpu()
        for _ in itertools.repeat(None, n):
            lru(a, b)
        rounds.append((cpu() - c0) / n)
    gc.enable()
    out["lru_cache_hit"] = {"cpu_ns": statistics.median(rounds)}

    for name, make in (("joblib", lambda d: joblib.Memory(d, verbose=0).cache),
                       ("diskcache", lambda d: diskcache.Cache(d).memoize())):
        folder = os.path.join(work, "python", name)
        os.makedirs(folder, exist_ok=True)
        decorate = make(folder)
        hit = decorate(small)
        hit(1.5, 2.5)
        out[name + "_hit"] = per_call(hit, [(1.5, 2.5)] * (1000 if name == "joblib" else 4000))
        miss = decorate(store_small)
        out[name + "_miss"] = per_call(miss, [(1.5, salt + i) for i in range(300 if name == "joblib" else 1000)])
        salt += 10000.0
        large = decorate(big_result)
        count = large_bytes // 8
        large(count)
        out[name + "_load_large"] = per_call(large, [(count,)] * 5)

    # joblib's mapped view of the same result: the anchor for recall::mapped<>.
    folder = os.path.join(work, "python", "joblib-mmap")
    os.makedirs(folder, exist_ok=True)
    mapped = joblib.Memory(folder, mmap_mode="r", verbose=0).cache(big_result)
    mapped(large_bytes // 8)
    out["joblib_load_large_mmap"] = per_call(mapped, [(large_bytes // 8,)] * 5)

    values = np.arange(large_bytes // 8, dtype=np.float64)
    out["joblib_hash_large"] = per_call(joblib.hash, [(values,)] * 3)
    out["large_bytes"] = large_bytes
    return out


# ----------------------------------------------------------------------------------------------
# Running the pieces

def anchor_python():
    """An interpreter that has joblib and diskcache: this one, else Debian's (pyenv and venvs hide it)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and subprocess.run([candidate, "-c", "import joblib, diskcache, numpy"],
                                        capture_output=True).returncode == 0:
            return candidate
    sys.exit("compare.py: no python3 with joblib, diskcache and numpy (scripts/install-deps --with-bench)")


def say(message):
    print(message, file=sys.stderr, flush=True)


def realtime_prefix():
    """`chrt -f 10` when this process may use it (root), else nothing. Used only for the few
    seconds of the thread-scaling rows and the C++ cold-process pair: on a machine whose cores are
    busy with other work, two threads otherwise rarely run at the same time, and a 1 ms process
    mostly measures the scheduler."""
    if os.environ.get("RECALL_BENCH_NO_RT") or not shutil.which("chrt"):
        return []
    if subprocess.run(["chrt", "-f", "10", "true"], capture_output=True).returncode != 0:
        return []
    return ["chrt", "-f", "10"]


def run_benchmarks(build, work, quick, out_json):
    binary = os.path.join(build, "bench", "recall-bench")
    rt = realtime_prefix()
    main = run_suite(binary, work, quick, out_json, "-threads/" if rt else None, [])
    if rt:
        say("== thread scaling rows under " + " ".join(rt))
        extra = run_suite(binary, work, quick, out_json + ".threads", "^threads/", rt)
        main["benchmarks"] += extra["benchmarks"]
        main["realtime_threads"] = True
    return main


def run_suite(binary, work, quick, out_json, benchmark_filter, prefix):
    args = prefix + [binary, "--work=" + work,
            "--benchmark_repetitions=" + ("2" if quick else "7"),
            "--benchmark_enable_random_interleaving=true",
            "--benchmark_report_aggregates_only=true",
            "--benchmark_min_time=" + ("0.02" if quick else "0.2"),
            "--benchmark_out=" + out_json, "--benchmark_out_format=json"]
    if quick:
        args.append("--quick")
    if benchmark_filter:
        args.append("--benchmark_filter=" + benchmark_filter)
    say("== recall-bench (Google Benchmark): " + " ".join(args))
    subprocess.run(args, check=True, stdout=sys.stderr)
    with open(out_json) as f:
        return json.load(f)


def callgrind_ir(build, work, probe, quick):
    """Instructions per call: (Ir(2N) - Ir(N)) / N, counted inside recall_bench_probe only."""
    binary = os.path.join(build, "bench", "recall-bench")
    calls = 1 if probe.startswith(("key_large", "miss_large")) else 1000
    totals = []
    for n in (calls, 2 * calls):
        out = os.path.join(work, "callgrind.%s.%d" % (probe, n))
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--collect-atstart=no",
               "--toggle-collect=recall_bench_probe", binary, "--work=" + work, "--probe=" + probe,
               "--calls=%d" % n] + (["--quick"] if quick else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    totals.append(int(line.split()[1]))
                    break
        os.remove(out)
    return (totals[1] - totals[0]) / calls


def hyperfine(commands, runs, out_json):
    cmd = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", out_json, "--style", "basic"]
    subprocess.run(cmd + commands, check=True, stdout=sys.stderr)
    with open(out_json) as f:
        results = json.load(f)["results"]
    return [{"wall_ns": statistics.median(r["times"]) * 1e9, "cpu_ns": (r["user"] + r["system"]) * 1e9,
             "command": r["command"]} for r in results]


def cold_process(build, work, quick, python):
    cold_hit = os.path.join(build, "bench", "cold-hit")
    noop = os.path.join(build, "bench", "noop")
    cold_dir = os.path.join(work, "cold")
    subprocess.run([cold_hit, cold_dir], check=True)  # the first run stores the entry
    inside = statistics.median(
        int(subprocess.run([cold_hit, cold_dir, "--inside"], check=True, capture_output=True, text=True).stdout)
        for _ in range(21))
    say("== cold process (hyperfine -N)")
    rt = realtime_prefix()
    cpp = hyperfine([" ".join(rt + [noop]), " ".join(rt + [cold_hit, cold_dir])], 30 if quick else 100,
                    os.path.join(work, "hyperfine-cpp.json"))
    py_dirs = {k: os.path.join(work, "python", "cold-" + k) for k in ("joblib", "diskcache")}
    script = os.path.join(HERE, "py_cold_hit.py")
    for which, folder in py_dirs.items():
        subprocess.run([python, script, which, folder], check=True)
    py = hyperfine([python + " " + script + " joblib " + py_dirs["joblib"],
                    python + " " + script + " diskcache " + py_dirs["diskcache"]],
                   5 if quick else 20, os.path.join(work, "hyperfine-python.json"))
    return {"noop": cpp[0], "recall": cpp[1], "recall_inside_ns": inside, "joblib": py[0], "diskcache": py[1],
            "realtime": bool(rt)}


# ----------------------------------------------------------------------------------------------
# The table

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def medians(gbench):
    """run_name -> the median aggregate of that benchmark, times in ns."""
    out = {}
    for b in gbench["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        scale = UNIT_NS[b.get("time_unit", "ns")]
        row = dict(b)
        row["cpu_ns"] = b["cpu_time"] * scale
        row["real_ns"] = b["real_time"] * scale
        out[b["run_name"]] = row
    return out


def find(med, prefix):
    for name, row in med.items():
        if name == prefix or name.startswith(prefix + "/"):
            return row
    raise KeyError(prefix)


def fmt_time(ns):
    if ns is None:
        return "n/a"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= scale:
            return "%.3g %s" % (ns / scale, unit)
    return "%.3g ns" % ns


def fmt_rate(bytes_per_ns):
    return "%.3g GB/s" % bytes_per_ns  # bytes per ns == GB/s (1e9 B/s)


def fmt_ratio(x):
    return "%.2f×" % x if x < 10 else "%.0f×" % x


def build_rows(med, ir, cold, py, population, large_bytes, realtime_threads):
    rows = []

    def add(workload, recall, floor_name, floor, ratio, target, met, anchors, note=""):
        rows.append({"workload": workload, "recall": recall, "floor_name": floor_name, "floor": floor,
                     "ratio": ratio, "target": target, "met": met, "anchors": anchors, "note": note})

    def anchor(name, ns, recall_ns):
        return "%s %s (%s)" % (name, fmt_time(ns), fmt_ratio(ns / recall_ns)) if ns else ""

    m = find(med, "memory_hit/recall")["cpu_ns"]
    f = find(med, "memory_hit/floor_xxh3_unordered_map")["cpu_ns"]
    note = ("%.0f vs %.0f instructions per call" % (ir["memory_hit"], ir["memory_floor"])) if ir else ""
    add("memory-tier hit, (double, double) → double", fmt_time(m), "XXH3-128 + unordered_map find", fmt_time(f),
        fmt_ratio(m / f), "≤ 50 ns", m <= 50,
        [anchor("lru_cache", py and py["lru_cache_hit"]["cpu_ns"], m),
         anchor("joblib", py and py["joblib_hit"]["cpu_ns"], m),
         anchor("diskcache", py and py["diskcache_hit"]["cpu_ns"], m)], note)

    d = find(med, "disk_hit/recall")["cpu_ns"]
    f = find(med, "disk_hit/open_read_close")["cpu_ns"]
    note = ("%.0f instructions per call in user space" % ir["disk_hit"]) if ir else ""
    add("disk hit, small result, warm process, hot page cache", fmt_time(d), "open + read + close of the entry",
        fmt_time(f), fmt_ratio(d / f), "≤ 3 µs", d <= 3000,
        [anchor("joblib", py and py["joblib_hit"]["cpu_ns"], d),
         anchor("diskcache", py and py["diskcache_hit"]["cpu_ns"], d)], note)

    miss = find(med, "miss_small/recall")["cpu_ns"] - find(med, "miss_small/function_alone")["cpu_ns"]
    f = find(med, "miss_small/tmp_write_rename")["cpu_ns"]
    add("miss overhead, storing a small result, no fsync", fmt_time(miss), "96 B file: create, write, rename",
        fmt_time(f), fmt_ratio(miss / f), "≤ 30 µs", miss <= 30000,
        [anchor("joblib", py and py["joblib_miss"]["cpu_ns"], miss),
         anchor("diskcache", py and py["diskcache_miss"]["cpu_ns"], miss)])

    k = large_bytes / find(med, "key_large/recall")["cpu_ns"]
    x = large_bytes / find(med, "key_large/xxh3_128")["cpu_ns"]
    mib = large_bytes // MIB
    jh = py and large_bytes / py["joblib_hash_large"]["cpu_ns"]
    add("key of a %d MiB std::vector<double> argument" % mib, fmt_rate(k), "raw XXH3-128 over the buffer",
        fmt_rate(x), "%.0f%%" % (100 * k / x), "≥ 80%", k / x >= 0.8,
        ["joblib.hash %s (%s slower)" % (fmt_rate(jh), fmt_ratio(k / jh))] if jh else [])

    ld = find(med, "load_large/recall")["cpu_ns"]
    f = find(med, "load_large/read_fresh_vector")["cpu_ns"]
    add("load a %d MiB std::vector<double> result" % mib, fmt_time(ld), "read() into a fresh vector",
        fmt_time(f), fmt_ratio(ld / f), "≤ 1.2×", ld / f <= 1.2,
        [anchor("joblib", py and py["joblib_load_large"]["cpu_ns"], ld),
         anchor("diskcache", py and py["diskcache_load_large"]["cpu_ns"], ld)])
    mmap_anchor = [anchor("joblib mmap_mode='r'", py["joblib_load_large_mmap"]["cpu_ns"], 1.0)] if py else []
    try:
        mp = find(med, "mapped_large/recall")["cpu_ns"]
        add("… as a mapped view, recall::mapped<...>", fmt_time(mp), "read() into a fresh vector", fmt_time(f),
            fmt_ratio(mp / f), "≤ 1 ms", mp <= 1e6,
            [anchor("joblib mmap_mode='r'", py and py["joblib_load_large_mmap"]["cpu_ns"], mp)])
        mc = find(med, "mapped_large/recall_checksummed")["cpu_ns"]
        add("… mapped, checksum verified (the default)", fmt_time(mc), "read() into a fresh vector", fmt_time(f),
            fmt_ratio(mc / f), "", None, [])
    except KeyError:
        add("… as a mapped view, recall::mapped<...>", "not yet available", "", "", "", "≤ 1 ms", None,
            [a.split(" (")[0] for a in mmap_anchor],
            "add a `mapped_large/recall` benchmark to bench/recall_bench.cpp when recall::mapped lands; "
            "this row then fills itself in")

    if cold:
        c, n = cold["recall"], cold["noop"]
        add("cold process: start, one disk hit, exit", "%s (CPU %s)" % (fmt_time(c["wall_ns"]), fmt_time(c["cpu_ns"])),
            "no-op C++ program", "%s (CPU %s)" % (fmt_time(n["wall_ns"]), fmt_time(n["cpu_ns"])),
            "%s (CPU %s)" % (fmt_ratio(c["wall_ns"] / n["wall_ns"]), fmt_ratio(c["cpu_ns"] / n["cpu_ns"])),
            "≤ 1.2×", c["cpu_ns"] / n["cpu_ns"] <= 1.2,
            [anchor("joblib", cold["joblib"]["wall_ns"], c["wall_ns"]),
             anchor("diskcache", cold["diskcache"]["wall_ns"], c["wall_ns"])],
            "judged on CPU (user + system); wall %s; the call itself, timed inside the fresh process: %s" %
            ("under chrt -f" if cold.get("realtime") else "is noisy on a busy machine",
             fmt_time(cold["recall_inside_ns"])))

    checked = find(med, "mutation_large/miss_checked")["cpu_ns"]
    unchecked = find(med, "mutation_large/miss_unchecked")["cpu_ns"]
    one_hash = find(med, "key_large/recall")["cpu_ns"]
    extra = checked - unchecked
    if ir and "miss_large_checked" in ir:
        ir_ratio = (ir["miss_large_checked"] - ir["miss_large_unchecked"]) / ir["key_large"]
        met = ir_ratio <= 1.01  # one hash, plus comparing two keys
        note = "instructions (callgrind, exact): the check costs %.4f× one key of the argument" % ir_ratio
    else:
        met = extra / one_hash <= 1.1
        note = "timing only (no callgrind): within 10%% counts as met"
    add("mutation check, %d MiB by-reference argument" % mib, fmt_time(extra), "one key of the argument",
        fmt_time(one_hash), fmt_ratio(extra / one_hash), "≤ 1 hash", met, [], note)

    big = find(med, "population/recall/%d" % population)
    p1 = big["cpu_ns"]
    p0 = find(med, "population/recall/1000")["cpu_ns"]
    r1 = find(med, "population/open_read_close/%d" % population)["cpu_ns"]
    r0 = find(med, "population/open_read_close/1000")["cpu_ns"]
    add("%s entries on disk: hit latency (vs 1,000)" % format(population, ","),
        "%s (1,000: %s)" % (fmt_time(p1), fmt_time(p0)), "key + path + open/read/close, same walk",
        "%s (1,000: %s)" % (fmt_time(r1), fmt_time(r0)), "%s (floor %s)" % (fmt_ratio(p1 / p0), fmt_ratio(r1 / r0)),
        "≤ 1.5×", p1 / p0 <= 1.5, [],
        "generated once in %.0f s, kept in the work folder" % big.get("generation_s", 0))

    t1 = find(med, "threads/recall/real_time/threads:1")
    t2 = find(med, "threads/recall/real_time/threads:2")
    f1 = find(med, "threads/floor_xxh3_unordered_map/real_time/threads:1")
    f2 = find(med, "threads/floor_xxh3_unordered_map/real_time/threads:2")
    s = t2["items_per_second"] / t1["items_per_second"]
    fs = f2["items_per_second"] / f1["items_per_second"]
    add("2 threads hitting the memory tier (throughput vs 1)", fmt_ratio(s), "read-only floor loop, 2 vs 1",
        fmt_ratio(fs), "", "≥ 1.7×", s >= 1.7, [],
        "%s; CPU per hit: recall %s with 1 thread, %s with 2 (floor %s, %s)" %
        ("run under chrt -f, so both cores were ours" if realtime_threads else
         "not under chrt: other work on the cores caps the floor's scaling too",
         fmt_time(t1["cpu_ns"]), fmt_time(t2["cpu_ns"]), fmt_time(f1["cpu_ns"]), fmt_time(f2["cpu_ns"])))
    return rows


def s3_rows(build, quick):
    """The S3 rows (bench/s3_bench.sh: s3_store hits against raw libcurl GETs on moto), as printed
    lines, or None when the build has no s3-hit (no libcurl) or moto cannot run."""
    if not os.path.exists(os.path.join(build, "bench", "s3-hit")):
        return None
    say("== S3 hits on moto (bench/s3_bench.sh)")
    result = subprocess.run([os.path.join(ROOT, "bench", "s3_bench.sh"), build, "5" if quick else "50"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        say("   skipped: " + (result.stdout + result.stderr).strip()[-300:])
        return None
    return result.stdout.strip()


def redis_cluster_rows(build, quick):
    """The Redis Cluster row (bench/redis_cluster.sh: redis_store hits over redis+cluster:// against
    raw hiredis GETs to the owning node, three masters on loopback), as printed lines, or None when
    the build has no redis-cluster-hit (no hiredis) or redis-server/redis-cli are missing."""
    if not os.path.exists(os.path.join(build, "bench", "redis-cluster-hit")):
        say("== Redis Cluster hits: skipped (no bench/redis-cluster-hit in %s: hiredis not found, or not built)" % build)
        return None
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if missing:
        say("== Redis Cluster hits: skipped (%s not on PATH)" % " and ".join(missing))
        return None
    say("== Redis Cluster hits on loopback (bench/redis_cluster.sh)")
    result = subprocess.run([os.path.join(ROOT, "bench", "redis_cluster.sh"), build, "300" if quick else "3000"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        say("   skipped: " + (result.stdout + result.stderr).strip()[-300:])
        return None
    return result.stdout.strip()


def render(rows, markdown):
    head = ["workload", "recall", "same-run floor", "floor value", "recall ÷ floor", "target", "met",
            "Python, same run (× recall's time)"]
    table = []
    for r in rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**" if markdown else "NO")
        table.append([r["workload"], r["recall"], r["floor_name"], r["floor"], r["ratio"], r["target"], met,
                      "; ".join(a for a in r["anchors"] if a)])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table]
        notes = ["- %s: %s" % (r["workload"], r["note"]) for r in rows if r["note"]]
        return "\n".join(lines) + "\n\nNotes:\n" + "\n".join(notes) + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
    widths[-1] = 0
    out = []
    for row in [head] + table:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    out.insert(1, "-" * min(200, sum(widths) + 2 * len(widths)))
    out.append("")
    out += ["%s: %s" % (r["workload"], r["note"]) for r in rows if r["note"]]
    return "\n".join(out) + "\n"


def machine(work, build):
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        info["cpu"] = platform.processor()
    info["cores"] = os.cpu_count()
    info["kernel"] = platform.release()
    try:
        info["filesystem"] = subprocess.run(["findmnt", "-no", "FSTYPE,OPTIONS", "-T", work], capture_output=True,
                                            text=True).stdout.strip()
    except OSError:
        info["filesystem"] = "?"
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        info["buildtype"] = opts.get("buildtype")
        with open(os.path.join(build, "meson-info", "intro-targets.json")) as f:
            target = next(t for t in json.load(f) if t["name"] == "recall-bench")
        compiler = target["target_sources"][0]["compiler"]
        version = subprocess.run(compiler + ["--version"], capture_output=True, text=True).stdout.splitlines()[0]
        info["compiler"] = version
    except (OSError, KeyError, StopIteration, IndexError):
        pass
    try:
        git = ["git", "-C", ROOT]
        info["commit"] = subprocess.run(git + ["log", "-1", "--format=%h (%s)"], capture_output=True,
                                        text=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "include"], capture_output=True,
                               text=True).stdout.strip()
        info["include_dirty"] = bool(dirty)
    except OSError:
        pass
    info["loadavg_start"] = os.getloadavg()
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--work", help="cache folders (default: BUILD/bench-data)")
    parser.add_argument("--quick", action="store_true", help="1 MiB and 2,000 entries; a smoke run")
    parser.add_argument("--no-python", action="store_true")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--no-cold", action="store_true")
    parser.add_argument("--markdown", help="also write the table as Markdown here")
    parser.add_argument("--python-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reuse-suite", action="store_true", help=argparse.SUPPRESS)  # development only
    parser.add_argument("--large-bytes", type=int, default=100 * MIB, help=argparse.SUPPRESS)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    work = os.path.abspath(args.work or os.path.join(build, "bench-data" + ("-quick" if args.quick else "")))
    os.makedirs(work, exist_ok=True)
    large_bytes = MIB if args.quick else 100 * MIB
    population = 2000 if args.quick else 1000000

    if args.python_side:
        json.dump(python_side(work, args.large_bytes), sys.stdout)
        return

    info = machine(work, build)
    started = time.time()
    suite_json = os.path.join(work, "recall-bench.json")
    if args.reuse_suite:
        with open(suite_json) as f:
            gbench = json.load(f)
    else:
        gbench = run_benchmarks(build, work, args.quick, suite_json)
    med = medians(gbench)

    ir = {}
    if not args.no_callgrind and shutil.which("valgrind"):
        say("== callgrind instruction counts")
        for probe in ("memory_hit", "memory_floor", "disk_hit", "key_large", "miss_large_checked",
                      "miss_large_unchecked"):
            ir[probe] = callgrind_ir(build, work, probe, args.quick)
            say("   %-22s %12.0f Ir per call" % (probe, ir[probe]))

    python = None if args.no_python and args.no_cold else anchor_python()
    cold = None if args.no_cold or not shutil.which("hyperfine") else cold_process(build, work, args.quick, python)

    py = None
    if not args.no_python:
        say("== Python side (joblib, diskcache, lru_cache)")
        result = subprocess.run([python, os.path.abspath(__file__), "--python-side", "--work", work,
                                 "--large-bytes", str(large_bytes)], check=True, capture_output=True, text=True)
        py = json.loads(result.stdout)

    rows = build_rows(med, ir, cold, py, population, large_bytes, bool(gbench.get("realtime_threads")))
    info["loadavg_end"] = os.getloadavg()
    info["minutes"] = round((time.time() - started) / 60, 1)
    header = ["machine: %s, %s cores, kernel %s; work folder on %s" % (info.get("cpu"), info.get("cores"),
                                                                          info.get("kernel"), info.get("filesystem")),
              "build: %s, %s; recall %s%s" % (info.get("compiler"), info.get("buildtype"), info.get("commit"),
                                              " (include/ modified)" if info.get("include_dirty") else ""),
              "load average %.1f at the start, %.1f at the end; %.1f min" % (info["loadavg_start"][0],
                                                                             info["loadavg_end"][0], info["minutes"])]
    if py:
        header.append("python %(python)s, joblib %(joblib)s, diskcache %(diskcache)s, numpy %(numpy)s" %
                      py["versions"])
    s3 = s3_rows(build, args.quick)
    cluster = redis_cluster_rows(build, args.quick)
    remote = "\n".join(r for r in (s3, cluster) if r)
    print("\n".join(header) + "\n")
    print(render(rows, markdown=False))
    if remote:
        print("\nRemote tier on loopback (goal: ratio <= 1.3)\n" + remote)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"machine": info, "callgrind": ir, "cold": cold, "python": py, "rows": rows}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join("- " + h for h in header) + "\n\n" + render(rows, markdown=True))
            if remote:
                f.write("\nRemote tier on loopback (goal: ratio <= 1.3):\n\n```\n" + remote + "\n```\n")
    if not all(r["met"] for r in rows if r["met"] is not None):
        say("some targets are missed: see docs/PERFORMANCE.md for what limits each one")


if __name__ == "__main__":
    main()
