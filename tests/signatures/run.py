#!/usr/bin/env python3
"""Build-time body signatures, checked on the fixture project in fixture/.

Most cases edit a copy of the fixture and compare `recall-sign --list` before and after (one
libclang pass, no compilation); the end-to-end cases build the fixture with meson and ninja, run
it against a cache directory, edit, rebuild and run again; one case generates the rows through
the CMake integration (fixture/CMakeLists.txt). Each case prints `ok` or `FAIL` (or `skip` when
a tool it needs, cmake, is missing); the last line is `N passed, N failed`, and the exit status
is nonzero on any failure.

usage: run.py --recall-sign PATH --include RECALL_INCLUDE_DIR   (the compiler comes from $CXX)
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
FIXTURE = HERE / "fixture"
SOURCES = ["src/main.cpp", "src/trajectory.cpp", "src/drag.cpp"]
NAMES = [
    "(anonymous namespace)::cube",
    "lorenz",
    "physics::body::kinetic",
    "physics::is_even",
    "physics::legacy",
    "physics::square",
    "physics::trajectory",
    "physics::v2::legacy",
]
LEGACY = {"physics::legacy", "physics::v2::legacy"}
EXTRAS_SOURCES = ["src/extras.cpp"]
EXTRAS = ["extras::holder<int>::get", "extras::over", "extras::pick", "extras::tuned", "extras::twice_of",
          "extras::with_accumulator", "fixture_c_api", "functor", "variable"]
# Memoized in extras.cpp in ways recall-sign cannot follow: no row, and a warning each.
UNTRACKED = ["erf", "extras::plain", "non-literal", "opaque"]
EXTRAS_WARNINGS = [
    "src/extras.cpp:47: recall::memoize's function is a template parameter here",
    "src/extras.cpp:58: memoize_as<\"opaque\">: the callable's body is not visible",
    "src/extras.cpp:59: recall::memoize_as's label is not a plain string literal",
    "src/extras.cpp:61: erf is not defined under the project root",
]


class Failure(Exception):
    pass


class Skip(Exception):
    """A case that cannot run here (a missing tool); reported, counted neither way."""


class Fixture:
    """A copy of the fixture, configured (not built) in its `b` directory."""

    def __init__(self, args, path, recall_include=None):
        """recall_include: a folder under the copy to copy recall's headers to and use them from."""
        self.args = args
        shutil.copytree(FIXTURE, path)
        self.path = pathlib.Path(path).resolve()
        self.pristine = {f: (self.path / f).read_text() for f in self.files()}
        include = args.include
        if recall_include is not None:
            include = recall_include  # relative: meson refuses absolute paths into the source tree
            shutil.copytree(pathlib.Path(args.include) / "recall", self.path / recall_include / "recall")
        proc = subprocess.run(
            ["meson", "setup", "b", f"-Drecall_include={include}", f"-Drecall_sign={args.recall_sign}"],
            cwd=self.path, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Failure("meson setup failed:\n" + (proc.stdout + proc.stderr)[-3000:])

    def files(self):
        return [str(p.relative_to(self.path)) for p in sorted(self.path.rglob("*.?pp"))]

    def restore(self):
        for f, text in self.pristine.items():
            if (self.path / f).read_text() != text:
                (self.path / f).write_text(text)

    def edit(self, file, old, new):
        target = self.path / file
        text = target.read_text()
        if old not in text:
            raise Failure(f"fixture edit: {old!r} not in {file}")
        target.write_text(text.replace(old, new, 1))

    def sign(self, *extra, sources=SOURCES):
        return subprocess.run([self.args.recall_sign, "--compdb", "b", "--root", "."] + list(extra) + sources,
                              cwd=self.path, capture_output=True, text=True)

    def signatures(self, sources=SOURCES):
        proc = self.sign("--list", sources=sources)
        if proc.returncode != 0:
            raise Failure(f"recall-sign --list exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        rows = dict(line.split("\t") for line in proc.stdout.splitlines())
        return rows, proc.stderr


def compare(before, after, changed, names=NAMES):
    """Every name in `changed` must have a new signature, every other name the same one."""
    problems = []
    for name in names:
        if name not in before or name not in after:
            problems.append(f"{name} missing")
        elif name in changed and before[name] == after[name]:
            problems.append(f"{name} kept its signature but should change")
        elif name not in changed and before[name] != after[name]:
            problems.append(f"{name} changed but should not")
    if problems:
        raise Failure("; ".join(problems))


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def case(self, name, fn):
        try:
            fn()
        except Skip as e:
            print(f"skip {name}: {e}", flush=True)
            return
        except Failure as e:
            self.failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            return
        self.passed += 1
        print(f"ok   {name}", flush=True)


def edit_cases(run, fx, base):
    """(name, [(file, old, new), ...], names whose signature must change)"""
    cases = [
        ("comment added: same signatures (hit)",
         [("src/drag.cpp", "  // Linear or quadratic in the speed.\n",
           "  // Linear or quadratic in the speed.\n  /* Drag grows with the speed;\n     see the notes. */\n"),
          ("src/drag.cpp", "return p.drag * factor * 0.5 * exponent;", "return p.drag * factor * 0.5 * exponent; // half")],
         set()),
        ("whitespace and reformatting: same signatures (hit)",
         [("src/drag.cpp", "double drag(double v, const params& p, double exponent) {\n"
           "  // Linear or quadratic in the speed.\n"
           "  const double factor = p.model == drag_model::linear ? v : square(v);\n"
           "  return p.drag * factor * 0.5 * exponent;\n}",
           "double\ndrag( double v,const params &p,\n      double exponent )\n{\n"
           "\tconst double factor = p.model==drag_model::linear\n"
           "\t\t? v\n\t\t: square( v );\n\n\n\treturn p.drag*factor*0.5*exponent;\n}"),
          ("include/fixture/physics.hpp", "double drag(double v, const params& p, double exponent = 1.0);",
           "double drag(double v,\n            const params& p,\n            double exponent = 1.0);")],
         set()),
        ("moved definition within its file: same signatures (hit)",
         [("src/drag.cpp", "double unrelated(double x) {\n  return x + 1.0;\n}\n\n", ""),
          ("src/drag.cpp", "namespace physics {\n", "namespace physics {\n\ndouble unrelated(double x) {\n"
                                                    "  return x + 1.0;\n}\n")],
         set()),
        ("moved definition to another file: same signatures (hit)",
         [("src/drag.cpp", "double drag(double v, const params& p, double exponent) {\n"
           "  // Linear or quadratic in the speed.\n"
           "  const double factor = p.model == drag_model::linear ? v : square(v);\n"
           "  return p.drag * factor * 0.5 * exponent;\n}\n", ""),
          ("src/trajectory.cpp", "namespace physics {\n", "namespace physics {\n\n"
           "double drag(double v, const params& p, double exponent) {\n"
           "  // Linear or quadratic in the speed.\n"
           "  const double factor = p.model == drag_model::linear ? v : square(v);\n"
           "  return p.drag * factor * 0.5 * exponent;\n}\n")],
         set()),
        ("changed literal constant in the function: miss",
         [("src/trajectory.cpp", "const double dt = 0.01;", "const double dt = 0.02;")],
         {"physics::trajectory"}),
        ("changed callee in another file: miss for its callers only",
         [("src/drag.cpp", "factor * 0.5 * exponent;", "factor * 0.25 * exponent;")],
         {"physics::trajectory", "lorenz"}),
        ("changed default argument in a header declaration: miss for the callers",
         [("include/fixture/physics.hpp", "double exponent = 1.0);", "double exponent = 2.0);")],
         {"physics::trajectory", "lorenz"}),
        ("change in an unrelated function: same signatures (hit)",
         [("src/drag.cpp", "return x + 1.0;", "return x + 2.0;")],
         set()),
        ("renamed local variable and parameter: same signature (hit, by design)",
         [("src/trajectory.cpp", "double trajectory(const params& p, int steps) {\n  double v = 0.0;",
           "double trajectory(const params& q, int steps) {\n  double speed = 0.0;"),
          ("src/trajectory.cpp", "const double a = gravity - drag(v, p) / p.mass;\n    v += a * dt;\n    x += v * dt;",
           "const double a = gravity - drag(speed, q) / q.mass;\n    speed += a * dt;\n    x += speed * dt;"),
          ("include/fixture/physics.hpp", "double drag(double v, const params& p, double exponent = 1.0);",
           "double drag(double speed, const params& prm, double power = 1.0);")],
         set()),
        ("rename that makes a local shadow a constant: miss",
         [("src/trajectory.cpp", "double x = 0.0;", "double gravity = 0.0;"),
          ("src/trajectory.cpp", "x += v * dt;", "gravity += v * dt;"),
          ("src/trajectory.cpp", "return x;", "return gravity;")],
         {"physics::trajectory"}),
        ("changed constant in a header: miss for its users",
         [("include/fixture/physics.hpp", "gravity = 9.81;", "gravity = 9.80665;")],
         {"physics::trajectory"}),
        ("changed macro: miss for its users",
         [("include/fixture/physics.hpp", "#define FIXTURE_SCALE (2.0 * FIXTURE_UNIT)",
           "#define FIXTURE_SCALE (3.0 * FIXTURE_UNIT)")],
         LEGACY),
        ("changed macro that a used macro names: miss",
         [("include/fixture/physics.hpp", "#define FIXTURE_UNIT 1.0", "#define FIXTURE_UNIT 1.5")],
         LEGACY),
        ("changed enum: miss for its users",
         [("include/fixture/physics.hpp", "enum class drag_model { linear, quadratic };",
           "enum class drag_model { linear = 1, quadratic };")],
         {"physics::trajectory", "lorenz"}),
        ("changed default member initializer: miss for the struct's users",
         [("include/fixture/physics.hpp", "double drag = 0.1;", "double drag = 0.2;")],
         {"physics::trajectory", "lorenz"}),
        ("changed function template in a header: miss for its callers",
         [("include/fixture/physics.hpp", "  return x * x;\n", "  return x * x + T{};\n")],
         {"physics::square", "physics::body::kinetic", "physics::trajectory", "lorenz"}),
        ("mutual recursion: change in the cycle partner is a miss",
         [("src/trajectory.cpp", "return n == 0 ? false : is_even(n - 1);", "return n <= 0 ? false : is_even(n - 1);")],
         {"physics::is_even"}),
        ("changed memoize_as lambda body: miss",
         [("src/main.cpp", "physics::params{}) * rho;", "physics::params{}) * rho * 2.0;")],
         {"lorenz"}),
        ("changed function in an anonymous namespace: miss",
         [("src/main.cpp", "return x * x * x;", "return x * x * x * 1.5;")],
         {"(anonymous namespace)::cube"}),
    ]
    run_edit_cases(run, fx, base, cases, SOURCES, NAMES)


def run_edit_cases(run, fx, base, cases, sources, names):
    for name, edits, changed in cases:
        def check(edits=edits, changed=changed):
            fx.restore()
            try:
                for file, old, new in edits:
                    fx.edit(file, old, new)
                after, _ = fx.signatures(sources=sources)
            finally:
                fx.restore()
            compare(base, after, changed, names)
        run.case(name, check)


def extras_cases(run, fx):
    base, warnings = fx.signatures(sources=EXTRAS_SOURCES)

    def found():
        if sorted(base) != sorted(EXTRAS):
            raise Failure(f"names: {sorted(base)}")
        lines = warnings.strip().splitlines()
        for w in EXTRAS_WARNINGS:
            if sum(w in line for line in lines) != 1:
                raise Failure(f"expected the warning '{w}' once in:\n{warnings}")
        if len(lines) != len(EXTRAS_WARNINGS):
            raise Failure("unexpected warnings:\n" + warnings)

    run.case("extras: tracked forms found; one warning per form recall-sign cannot follow", found)
    cases = [
        ("extras: a function object's operator() is tracked",
         [("src/extras.cpp", "return k * x;", "return k * x * x;")], {"functor"}),
        ("extras: a function object's default member initializer is tracked",
         [("src/extras.cpp", "double k = 3.0;", "double k = 4.0;")], {"functor"}),
        ("extras: a lambda held in a variable is tracked",
         [("src/extras.cpp", "return x + 1.0; };", "return x + 2.0; };")], {"variable"}),
        ("extras: memoized overloads share one signature; a change to one overload is a miss",
         [("src/extras.cpp", "return n / 4.0;", "return n / 8.0;")], {"extras::over"}),
        ("extras: a change to the other overload is a miss too",
         [("src/extras.cpp", "return x / 2.0;", "return x / 3.0;")], {"extras::over"}),
        ("extras: a static member of a class template specialization is tracked",
         [("src/extras.cpp", "return x * 2.0;", "return x * 2.5;")], {"extras::holder<int>::get"}),
        ("extras: an extern \"C\" function is tracked",
         [("src/extras.cpp", "return x * 3.0;", "return x * 3.5;")], {"fixture_c_api"}),
        ("extras: a type alias is tracked",
         [("src/extras.cpp", "using real = double;", "using real = long double;")], {"extras::with_accumulator"}),
        ("extras: a constructor called implicitly is tracked",
         [("src/extras.cpp", "accumulator() : base(1.0) {}", "accumulator() : base(1.5) {}")],
         {"extras::with_accumulator"}),
        ("extras: an unqualified dependent call in a template is followed",
         [("src/extras.cpp", "return x + 0.5;", "return x + 0.75;")], {"extras::twice_of"}),
        ("extras: an explicit specialization's own body is tracked",
         [("src/extras.cpp", "return x * 2.25;", "return x * 2.5;")], {"extras::pick"}),
        ("extras: the primary template is not part of an explicit specialization",
         [("src/extras.cpp", "T pick(T x) {\n  return x;\n}", "T pick(T x) {\n  return x + x;\n}")], set()),
        ("extras: an explicit specialization of a class template is followed",
         [("src/extras.cpp", "double gain = 2.0;", "double gain = 2.5;")], {"extras::tuned"}),
        ("extras: a partial specialization of a class template is followed",
         [("src/extras.cpp", "double gain = 3.0;", "double gain = 3.5;")], {"extras::tuned"}),
        ("extras: the primary class template counts too (its name is written)",
         [("src/extras.cpp", "double gain = 1.0;", "double gain = 1.5;")], {"extras::tuned"}),
    ]
    run_edit_cases(run, fx, base, cases, EXTRAS_SOURCES, EXTRAS)


def explain_case(fx):
    proc = fx.sign("--explain", "physics::trajectory")
    if proc.returncode != 0:
        raise Failure(f"exit {proc.returncode}: {proc.stderr}")
    lines = [line.split("\t") for line in proc.stdout.splitlines()]
    wanted = [
        ("root", "function", "physics::trajectory(const params&,int)", "src/trajectory.cpp"),
        ("uses", "function", "physics::drag(double,const params&,double)", "src/drag.cpp"),
        ("uses", "function", "physics::square(T)", "include/fixture/physics.hpp"),
        ("uses", "constant", "physics::gravity", "include/fixture/physics.hpp"),
        ("uses", "enum", "physics::drag_model", "include/fixture/physics.hpp"),
        ("uses", "type", "physics::params", "include/fixture/physics.hpp"),
    ]
    if not lines or lines[0][:2] != ["signature", "physics::trajectory"]:
        raise Failure("first line is not the signature:\n" + proc.stdout)
    found = [(l[0], l[1], l[2], l[3].rsplit(":", 1)[0]) for l in lines[1:] if len(l) == 5]
    if sorted(found) != sorted(wanted) or len(lines) != len(wanted) + 1:
        raise Failure("unexpected ingredients:\n" + proc.stdout)
    if "unrelated" in proc.stdout:
        raise Failure("physics::unrelated is listed")


def cmake_case(args, tmp, base):
    """The one-line CMake integration (fixture/CMakeLists.txt: recall_add_signatures with
    SOURCES_FROM): same rows as meson's, and a header edit re-runs recall-sign through the depfile."""
    if shutil.which("cmake") is None:
        raise Skip("cmake is not installed")
    path = tmp / "cmake"
    shutil.copytree(FIXTURE, path)
    cmake_dir = pathlib.Path(args.include).parent / "cmake"
    proc = subprocess.run(["cmake", "-G", "Ninja", "-S", ".", "-B", "cb", f"-DRECALL_SIGN_EXECUTABLE={args.recall_sign}",
                           f"-DRECALL_INCLUDE={args.include}", f"-DRECALL_CMAKE_DIR={cmake_dir}"],
                          cwd=path, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failure("cmake failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    generated = "recall_signatures/fixture.cpp"
    proc = subprocess.run(["ninja", "-C", "cb", generated], cwd=path, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failure("generating failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    rows = {}
    for line in (path / "cb" / generated).read_text().splitlines():
        if line.startswith('    {"'):
            name, hex_ = line.strip().rstrip(",").strip("{}").split(", ")
            rows[name.strip('"')] = hex_.strip('"')
    if rows != base:
        raise Failure(f"rows differ from meson's:\n{rows}\n{base}")
    (path / "include/fixture/physics.hpp").touch()
    dry = subprocess.run(["ninja", "-C", "cb", "-n", generated], cwd=path, capture_output=True, text=True).stdout
    if "recall-sign: body signatures of fixture" not in dry:
        raise Failure("touching a header does not re-run recall-sign:\n" + dry)


def cli_cases(run, fx, base):
    sign = fx.args.recall_sign

    def short_options_and_empty_table():
        out = fx.path / "b" / "empty_signatures.cpp"
        proc = subprocess.run([sign, "-p", "b/compile_commands.json", "--root", ".", "-o", str(out), "src/drag.cpp"],
                              cwd=fx.path, capture_output=True, text=True)
        if proc.returncode != 0 or "no recall::memoize or recall::memoize_as use" not in proc.stderr:
            raise Failure(f"exit {proc.returncode}: {proc.stderr}")
        text = out.read_text()
        if "std::array<recall::body_signature, 0> recall_sign_rows{};" not in text:
            raise Failure("unexpected table:\n" + text)
        cxx = os.environ.get("CXX", "c++").split()
        compiled = subprocess.run(cxx + ["-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                         "-I", fx.args.include, str(out)], capture_output=True, text=True)
        if compiled.returncode != 0:
            raise Failure("the empty table does not compile:\n" + compiled.stderr[-3000:])

    def version():
        proc = subprocess.run([sign, "--version"], capture_output=True, text=True)
        if proc.returncode != 0 or not proc.stdout.startswith("recall-sign "):
            raise Failure(proc.stdout + proc.stderr)

    def every_entry_by_default():
        extras, _ = fx.signatures(sources=EXTRAS_SOURCES)
        proc = fx.sign("--list", sources=[])
        if proc.returncode != 0:
            raise Failure(f"exit {proc.returncode}: {proc.stderr}")
        rows = dict(line.split("\t") for line in proc.stdout.splitlines())
        if rows != {**base, **extras}:
            raise Failure(f"rows: {rows}")

    def unrelated_files_that_do_not_parse():
        # The build's own compiler's include directories are searched (g++'s omp.h); a file that
        # still does not parse is skipped with a warning naming its functions; the rest is signed.
        import json
        entries = json.loads((fx.path / "b" / "compile_commands.json").read_text())
        template = next(e for e in entries if e["file"].endswith("drag.cpp"))
        extra = fx.path / "src" / "unrelated"
        extra.mkdir(exist_ok=True)
        (extra / "parallel.cpp").write_text("#include <omp.h>\nint threads() { return omp_get_max_threads(); }\n")
        (extra / "broken.cpp").write_text("int before_the_error() { return 1; }\n"
                                          "#include <no_such_header_anywhere.h>\nint after() { return 2; }\n")
        db = fx.path / "b-unrelated"
        db.mkdir(exist_ok=True)
        compiler = shutil.which("g++") or "c++"
        added = [dict(directory=template["directory"], file=str(extra / name),
                      command=f"{compiler} -fopenmp -c {extra / name} -o {name}.o") for name in ("parallel.cpp", "broken.cpp")]
        (db / "compile_commands.json").write_text(json.dumps(entries + added))
        try:
            proc = subprocess.run([sign, "--compdb", str(db), "--root", ".", "--list"], cwd=fx.path,
                                  capture_output=True, text=True)
        finally:
            shutil.rmtree(extra)
        if proc.returncode != 0:
            raise Failure(f"exit {proc.returncode}: {proc.stderr}")
        rows = dict(line.split("\t") for line in proc.stdout.splitlines())
        extras, _ = fx.signatures(sources=EXTRAS_SOURCES)
        if rows != {**base, **extras}:
            raise Failure(f"rows: {rows}")
        if "'omp.h' file not found" in proc.stderr or "parallel.cpp does not parse" in proc.stderr:
            raise Failure("omp.h is not found through the compiler's include directories: " + proc.stderr)
        wanted = "broken.cpp does not parse (1 error); changes to the functions it defines are not tracked: before_the_error()"
        if wanted not in proc.stderr or "no_such_header_anywhere.h" not in proc.stderr:
            raise Failure("no warning about broken.cpp: " + proc.stderr)

    def recall_under_the_root():
        # recall as a subproject (or vendored) under the project root: its headers are not the
        # project's, so they are neither hashed nor named in the depfile.
        vendored = Fixture(fx.args, fx.path.parent / "vendoring", recall_include="third_party/recall/include")
        out = vendored.path / "b" / "rows.cpp"
        proc = vendored.sign("--output", str(out), "--depfile", str(out) + ".d", "--list", sources=[])
        if proc.returncode != 0:
            raise Failure(f"exit {proc.returncode}: {proc.stderr}")
        rows = dict(line.split("\t") for line in proc.stdout.splitlines())
        extras, _ = fx.signatures(sources=EXTRAS_SOURCES)
        if rows != {**base, **extras}:
            raise Failure(f"rows differ with recall under the root: {rows}")
        deps = (vendored.path / "b" / "rows.cpp.d").read_text()
        if "third_party" in deps or "include/fixture/physics.hpp" not in deps:
            raise Failure("the depfile names recall's headers (or misses the project's):\n" + deps)

    def no_translation_unit_under_the_root():
        elsewhere = fx.path / "elsewhere-build"
        elsewhere.mkdir(exist_ok=True)
        (elsewhere / "compile_commands.json").write_text(
            '[{"directory": "/tmp", "file": "/tmp/not-this-project.cpp", "command": "c++ -c /tmp/not-this-project.cpp"}]\n')
        proc = subprocess.run([sign, "--compdb", str(elsewhere), "--root", ".", "--list"], cwd=fx.path,
                              capture_output=True, text=True)
        lines = proc.stderr.strip().splitlines()
        if proc.returncode != 1 or proc.stdout or len(lines) != 1 or "lists no translation unit under" not in lines[0]:
            raise Failure(f"exit {proc.returncode}: {proc.stdout}{proc.stderr}")
        (elsewhere / "compile_commands.json").write_text("[]\n")
        proc = subprocess.run([sign, "--compdb", str(elsewhere), "--root", ".", "--list"], cwd=fx.path,
                              capture_output=True, text=True)
        if proc.returncode != 1 or "lists no translation unit under" not in proc.stderr:
            raise Failure(f"empty database: exit {proc.returncode}: {proc.stdout}{proc.stderr}")

    run.case("error: a compilation database with no translation unit under the root (exit 1, one line)",
             no_translation_unit_under_the_root)
    run.case("cli: unrelated files that need the compiler's headers or do not parse do not stop signing",
             unrelated_files_that_do_not_parse)
    run.case("cli: recall's headers under the root are not hashed and not in the depfile", recall_under_the_root)
    run.case("cli: -p with the file, -o; no memoized function gives a warning and an empty table that compiles",
             short_options_and_empty_table)
    run.case("cli: --version", version)
    run.case("cli: no SOURCE reads every database entry outside the build directory", every_entry_by_default)


def error_cases(run, fx):
    def expect(proc, status, text):
        lines = proc.stderr.strip().splitlines()
        if proc.returncode != status:
            raise Failure(f"exit {proc.returncode}, expected {status}: {proc.stderr}")
        if not lines or text not in lines[-1] or not lines[-1].startswith("recall-sign: error: "):
            raise Failure(f"last line of stderr should say '{text}': {proc.stderr}")

    sign = fx.args.recall_sign

    def missing_database():
        proc = subprocess.run([sign, "--compdb", "nowhere", "--root", ".", "--list"], cwd=fx.path,
                              capture_output=True, text=True)
        expect(proc, 1, "no compilation database")
        if len(proc.stderr.strip().splitlines()) != 1:
            raise Failure("more than one line: " + proc.stderr)

    def unknown_name():
        expect(fx.sign("--explain", "physics::nothing"), 1, "no memoized function named 'physics::nothing'")

    def usage_errors():
        expect(subprocess.run([sign, "--compdb", "b", "--root", ".", "--frobnicate"], cwd=fx.path,
                              capture_output=True, text=True), 2, "unknown option --frobnicate")
        expect(subprocess.run([sign, "--compdb", "b", "--list"], cwd=fx.path, capture_output=True, text=True),
               2, "--root is required")
        expect(subprocess.run([sign, "--compdb", "b", "--root", "."], cwd=fx.path, capture_output=True, text=True),
               2, "nothing to do")
        expect(subprocess.run([sign, "--compdb", "b", "--root", ".", "--list", "--depfile", "x.d"], cwd=fx.path,
                              capture_output=True, text=True), 2, "--depfile needs --output")
        expect(subprocess.run([sign, "--compdb"], cwd=fx.path, capture_output=True, text=True),
               2, "--compdb needs a value")
        help_ = subprocess.run([sign, "--help"], capture_output=True, text=True)
        if help_.returncode != 0 or "usage: recall-sign" not in help_.stdout:
            raise Failure("--help: " + help_.stdout + help_.stderr)

    def parse_error():
        # A callee's file that does not parse: a warning naming its functions, the rest signed.
        fx.restore()
        try:
            fx.edit("src/drag.cpp", "return x + 1.0;", "return x + ;")
            proc = fx.sign("--list")
            fx.restore()
            fx.edit("src/trajectory.cpp", "double trajectory(const params& p, int steps) {",
                    "double trajectory(const params& p, int steps) { int broken = ;")
            defining = fx.sign("--list")
            fx.restore()
            fx.edit("src/main.cpp", "int main() {", "int main() { int broken = ;")
            memoizing = fx.sign("--list")
        finally:
            fx.restore()
        if proc.returncode != 0:
            raise Failure(f"a callee's file that does not parse: exit {proc.returncode}: {proc.stderr}")
        if "drag.cpp:12" not in proc.stderr:
            raise Failure("the compiler error's location is not reported: " + proc.stderr)
        wanted = ("drag.cpp does not parse (1 error); changes to the functions it defines are not tracked: "
                  "physics::drag(double,const params&,double), physics::unrelated(double)")
        if wanted not in proc.stderr:
            raise Failure("no warning naming drag.cpp's functions: " + proc.stderr)
        if sorted(line.split("\t")[0] for line in proc.stdout.splitlines()) != sorted(NAMES):
            raise Failure("rows missing: " + proc.stdout)
        expect(defining, 1, "physics::trajectory (memoized at src/main.cpp:14) is defined in no translation unit "
                            "that parses (src/trajectory.cpp does not parse)")
        expect(memoizing, 1, "main.cpp does not parse (1 error) and memoizes functions (recall::memoize at line 14)")

    def source_not_in_database():
        (fx.path / "src/extra.cpp").write_text("int extra() { return 1; }\n")
        try:
            expect(fx.sign("--list", sources=["src/extra.cpp"]), 1, "is not in the compilation database")
        finally:
            (fx.path / "src/extra.cpp").unlink()

    def unresolved_warning():
        rows, warnings = fx.signatures(sources=["src/main.cpp", "src/trajectory.cpp"])
        if "physics::drag(double,const params&,double)" not in warnings or "defined in no translation unit read" not in warnings:
            raise Failure("no warning about physics::drag: " + warnings)
        if rows.get("physics::body::kinetic") is None or "physics::trajectory" not in rows:
            raise Failure("rows missing: " + str(rows))

    def stale_source():
        moved = fx.path / "src/drag.cpp.away"
        (fx.path / "src/drag.cpp").rename(moved)
        try:
            named = fx.sign("--list", sources=["src/drag.cpp"])
            default = fx.sign("--list", sources=[])
        finally:
            moved.rename(fx.path / "src/drag.cpp")
        expect(named, 1, "drag.cpp does not exist (the compilation database is stale")
        expect(default, 1, "drag.cpp does not exist (the compilation database is stale")

    def unwritable_output():
        expect(fx.sign("--output", "/nonexistent-directory/out.cpp", sources=["src/drag.cpp"]), 1,
               "cannot write /nonexistent-directory/out.cpp")

    run.case("error: missing compile_commands.json (exit 1, one line)", missing_database)
    run.case("error: a source in the database that no longer exists (exit 1)", stale_source)
    run.case("error: an output that cannot be written (exit 1)", unwritable_output)
    run.case("error: --explain of an unknown name (exit 1)", unknown_name)
    run.case("error: usage errors (exit 2)", usage_errors)
    run.case("error: a file that does not parse: a warning for a callee's, exit 1 for a memoized function's",
             parse_error)
    run.case("error: a source that is not in the compilation database (exit 1)", source_not_in_database)
    run.case("warning: a callee defined in no translation unit read", unresolved_warning)


def end_to_end(run, args, tmp):
    env = dict(os.environ, RECALL_CACHE_DIR=str(tmp / "cache"))
    state = {}

    def build():
        proc = subprocess.run(["ninja", "-C", "b"], cwd=state["fx"].path, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Failure("build failed:\n" + (proc.stdout + proc.stderr)[-3000:])
        return proc.stdout

    def execute(program="fixture"):
        path = state["fx"].path
        proc = subprocess.run([str(path / "b" / program)], cwd=path, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise Failure(f"fixture exited {proc.returncode}: {proc.stderr}")
        bodies = {}
        outcome = None
        for line in proc.stdout.splitlines():
            words = line.split(" ")
            if words[0] == "body":
                bodies[" ".join(words[1:-1])] = words[-1]
            elif words[0] == "trajectory":
                outcome = words[1]
        return bodies, outcome

    def first_build():
        state["fx"] = Fixture(args, tmp / "e2e")
        build()
        listed, _ = state["fx"].signatures()
        bodies, outcome = execute()
        state["bodies"] = bodies
        runtime_names = set(bodies)
        if not runtime_names <= set(NAMES) or len(runtime_names) != 7:
            raise Failure(f"identity names at run time: {sorted(runtime_names)}")
        for name, body in bodies.items():
            if body == "-" or body != listed.get(name):
                raise Failure(f"{name}: runtime body {body!r}, recall-sign lists {listed.get(name)!r}")
        if outcome != "miss":
            raise Failure(f"first run: {outcome}")

    def extras_run():
        listed, _ = state["fx"].signatures(sources=EXTRAS_SOURCES)
        bodies, _ = execute("extras")
        if sorted(bodies) != sorted(EXTRAS + UNTRACKED):
            raise Failure(f"identity names at run time: {sorted(bodies)}")
        for name, body in bodies.items():
            wanted = listed.get(name, "-")
            if body != wanted:
                raise Failure(f"{name}: runtime body {body!r}, expected {wanted!r}")

    def second_run():
        _, outcome = execute()
        if outcome != "hit":
            raise Failure(f"second run: {outcome}")

    def no_op_build():
        out = build()
        if "no work to do" not in out:
            raise Failure("a second build did work:\n" + out)

    def comment_rebuild():
        state["fx"].edit("src/drag.cpp", "  // Linear or quadratic in the speed.\n",
                         "  // Linear or quadratic.\n  // (reworded)\n")
        out = build()
        if "recall-signatures" not in out:
            raise Failure("recall-sign did not run again after a source edit:\n" + out)
        bodies, outcome = execute()
        if bodies != state["bodies"] or outcome != "hit":
            raise Failure(f"after a comment edit: {outcome}, bodies {bodies}")

    def header_rerun():
        path = state["fx"].path
        (path / "include/fixture/physics.hpp").touch()
        dry = subprocess.run(["ninja", "-C", "b", "-n"], cwd=path, capture_output=True, text=True).stdout
        if "recall-signatures" not in dry:
            raise Failure("touching a header does not re-run recall-sign:\n" + dry)
        deps = subprocess.run(["ninja", "-C", "b", "-t", "deps", "recall_signatures.cpp"], cwd=path,
                              capture_output=True, text=True).stdout
        for wanted in ["include/fixture/physics.hpp", "src/drag.cpp", "b/compile_commands.json"]:
            if str(path / wanted) not in deps:
                raise Failure(f"{wanted} is not in the depfile:\n{deps}")
        if "/usr/include" in deps or args.include in deps:
            raise Failure("files outside the project are in the depfile:\n" + deps)

    def callee_rebuild():
        state["fx"].edit("src/drag.cpp", "factor * 0.5 * exponent;", "factor * 0.25 * exponent;")
        build()
        bodies, outcome = execute()
        if outcome != "miss":
            raise Failure(f"after changing a callee: {outcome}")
        if bodies["physics::trajectory"] == state["bodies"]["physics::trajectory"]:
            raise Failure("the trajectory's body signature did not change")
        if bodies["physics::is_even"] != state["bodies"]["physics::is_even"]:
            raise Failure("is_even's body signature changed")

    run.case("end to end: every memoized function gets its signature at run time (names match)", first_build)
    if "bodies" not in state:
        return
    run.case("end to end: the extras program's names match; untracked forms have no signature", extras_run)
    run.case("end to end: a second run hits the cache", second_run)
    run.case("end to end: a build with no edit does nothing", no_op_build)
    run.case("end to end: comment edit re-runs recall-sign, same signatures, hit", comment_rebuild)
    run.case("end to end: the depfile names the project files read; a header edit re-runs recall-sign",
             header_rerun)
    run.case("end to end: changed callee in another file, rebuilt: miss", callee_rebuild)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recall-sign", required=True)
    parser.add_argument("--include", required=True)
    args = parser.parse_args()
    args.recall_sign = str(pathlib.Path(args.recall_sign).resolve())
    run = Runner()
    with tempfile.TemporaryDirectory(prefix="recall-signatures-") as tmp_name:
        tmp = pathlib.Path(tmp_name)
        try:
            fx = Fixture(args, tmp / "work")
            base, warnings = fx.signatures()
        except Failure as e:
            print(f"FAIL setup: {e}")
            print("0 passed, 1 failed")
            return 1

        def clean_baseline():
            if sorted(base) != sorted(NAMES):
                raise Failure(f"names: {sorted(base)}")
            if warnings:
                raise Failure("warnings: " + warnings)
            if base["physics::legacy"] != base["physics::v2::legacy"]:
                raise Failure("the two spellings of an inline-namespace function differ")

        run.case("baseline: every memoized function is found, no warnings", clean_baseline)
        edit_cases(run, fx, base)

        def moved_tree():
            moved = Fixture(args, tmp / "elsewhere" / "deeper" / "checkout")
            after, _ = moved.signatures()
            compare(base, after, set())

        run.case("moved source tree: same signatures (hit)", moved_tree)
        run.case("explain: lists the functions, files and constants that went in", lambda: explain_case(fx))
        run.case("cmake: recall_add_signatures(fixture SOURCES_FROM physics) gives the same rows, honours the depfile",
                 lambda: cmake_case(args, tmp, base))
        extras_cases(run, fx)
        cli_cases(run, fx, base)
        error_cases(run, fx)
        end_to_end(run, args, tmp)
    print(f"{run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
