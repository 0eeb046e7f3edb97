#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The test runner behind `make check`.

Runs, in parallel:
  - every unit-test binary BUILD/tests/unit/test_* ("unit/NAME") and the same
    from the ASan+UBSan build ("asan/NAME") and, for the tests of the
    concurrent parts that the ThreadSanitizer build holds, from that one
    ("tsan/NAME"); each case line the binary prints ("ok - X", "not ok - X",
    "skip - X: why") counts as one test;
  - every tests/guest/*.test spec (format: tests/guest/README.md), once per
    engine it names ("guest/NAME[ENGINE]"), or once ("cli/NAME").

Prints "PASS name", "FAIL name" (then the details) or "SKIP name: reason" per
test, in a stable order, and ends with "N passed, N failed, N skipped".
Exits 1 if anything failed. Python 3.11 standard library only.
"""

import argparse
import concurrent.futures
import difflib
import errno
import fnmatch
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST_DIR = os.path.join(SRC, "tests", "guest")
# Time limits detect hangs; they are no assertion about speed. Each is several
# times what the test needs on a busy 2-core host, ASan builds get ASAN_SCALE
# times more, and X86V_TEST_TIME_SCALE stretches them all (a slow machine).
TIME_SCALE = float(os.environ.get("X86V_TEST_TIME_SCALE") or 1)
UNIT_TIMEOUT = 300 * TIME_SCALE    # the slowest unit binary needs ~25 s under ASan
ASAN_SCALE = 3
GUEST_TIMEOUT = 180 * TIME_SCALE   # the runner's limit; x86v itself gets --timeout X86V_TIMEOUT
X86V_TIMEOUT = int(60 * TIME_SCALE)
TAIL_LINES = 30
LSAN_BROKEN = ("LeakSanitizer has encountered a fatal error",
               "LeakSanitizer does not work under ptrace")


@dataclass
class Result:
    name: str
    status: str             # PASS, FAIL, SKIP
    detail: str = ""        # failure details or skip reason


@dataclass
class Spec:
    name: str
    path: str
    args: list = field(default_factory=list)
    engines: list = field(default_factory=list)
    status: int | None = None
    stdout_startswith: str | None = None
    stderr_contains: list = field(default_factory=list)
    stderr_lines: int | None = None
    make_files: list = field(default_factory=list)
    timeout: float = GUEST_TIMEOUT
    skip: str | None = None
    kvm_pvm: str | None = None  # why the kvm run is skipped on a kvm_pvm host
    driver: list = field(default_factory=list)  # a python script that runs x86v itself
    env: dict = field(default_factory=dict)  # environment variables for the run
    error: str | None = None    # the spec itself is malformed


def tail(text, n=TAIL_LINES):
    lines = text.splitlines()
    cut = lines[-n:]
    prefix = [f"... ({len(lines) - n} lines before)"] if len(lines) > n else []
    return "\n".join(prefix + cut)


def indent(text, pad="    "):
    return "\n".join(pad + line for line in text.splitlines())


def sanitizer_env(detect_leaks):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = f"detect_leaks={1 if detect_leaks else 0}:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    # A data race is a failure: the binary exits nonzero after the report.
    env["TSAN_OPTIONS"] = "halt_on_error=1:exitcode=66:second_deadlock_stack=1"
    return env


def run_process(argv, timeout, env=None, cwd=None):
    """Runs argv with stdin=/dev/null. Returns (returncode or None on timeout, stdout, stderr)."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           env=env, cwd=cwd)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        err = (e.stderr or b"").decode(errors="replace")
        return None, out, err
    except OSError as e:
        return -1000, "", f"cannot run {argv[0]}: {e.strerror}"


def describe_status(rc, timeout):
    if rc is None:
        return f"timed out after {timeout} s"
    if rc == -1000:
        return "could not be started"
    if rc < 0:
        try:
            import signal
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


# ---- unit tests ---------------------------------------------------------------

def find_unit_binaries(build):
    d = os.path.join(build, "tests", "unit")
    if not os.path.isdir(d):
        return []
    found = []
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        if n.startswith("test_") and "." not in n and os.path.isfile(p) and os.access(p, os.X_OK):
            found.append(p)
    return found


class Notes:
    """Messages printed once before the summary (e.g. LeakSanitizer disabled)."""

    def __init__(self):
        self.items = []

    def add(self, msg):
        if msg not in self.items:
            self.items.append(msg)


def run_unit(label, binary, notes):
    """One unit-test binary -> a list of Results, one per case line."""
    base = f"{label}/{os.path.basename(binary)}"
    limit = UNIT_TIMEOUT * (ASAN_SCALE if label in ("asan", "tsan") else 1)
    rc, out, err = run_process([binary], limit, env=sanitizer_env(True))
    if rc is not None and any(s in err for s in LSAN_BROKEN):
        notes.add("LeakSanitizer cannot run here (ptrace restrictions?): "
                  "ASan tests ran with detect_leaks=0")
        rc, out, err = run_process([binary], limit, env=sanitizer_env(False))

    results, pending, saw_fail = [], [], False
    for line in out.splitlines():
        if line.startswith("# "):
            pending.append(line)
        elif line.startswith("ok - "):
            results.append(Result(f"{base}/{line[5:].strip()}", "PASS"))
            pending = []
        elif line.startswith("not ok - "):
            results.append(Result(f"{base}/{line[9:].strip()}", "FAIL", "\n".join(pending)))
            pending, saw_fail = [], True
        elif line.startswith("skip - "):
            name, _, why = line[7:].partition(":")
            results.append(Result(f"{base}/{name.strip()}", "SKIP", why.strip()))
            pending = []

    # A crash, a timeout or a nonzero exit no case explains is one more failure,
    # as is a binary that reports nothing at all.
    abnormal = rc is None or rc < 0 or (rc != 0 and not saw_fail)
    if abnormal or not results:
        why = describe_status(rc, limit) if abnormal else "reported no test cases"
        detail = [f"{base}: {why}"]
        if pending:
            detail.append("\n".join(pending))
        if err.strip():
            detail.append("stderr:\n" + indent(tail(err)))
        results.append(Result(base, "FAIL", "\n".join(detail)))
    elif err.strip() and saw_fail:
        results[-1].detail += ("\n" if results[-1].detail else "") + "stderr:\n" + indent(tail(err))
    return results


# ---- guest and command-line tests -----------------------------------------------

def parse_spec(path):
    name = os.path.basename(path)[: -len(".test")]
    spec = Spec(name=name, path=path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        spec.error = f"cannot read {path}: {e.strerror}"
        return spec
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        where = f"{os.path.relpath(path, SRC)}:{no}"
        try:
            if not sep:
                raise ValueError("expected KEY: VALUE")
            if key == "args":
                spec.args = shlex.split(value)
            elif key == "engines":
                # "soft" runs on both of the soft engine's tiers: the translator
                # (translating every block at once) and the interpreter alone
                # ("soft-interp"); "soft-jit" on the translator only (default settings).
                spec.engines = [t for e in value.split()
                                for t in ([e, "soft-interp"] if e == "soft" else [e])]
            elif key == "status":
                spec.status = int(value, 0)
            elif key == "stdout-startswith":
                # keep a trailing space: "x86v " must not match "x86vfoo"
                spec.stdout_startswith = raw.split(":", 1)[1].lstrip()
            elif key == "stderr-contains":
                spec.stderr_contains.append(value)
            elif key == "stderr-lines":
                spec.stderr_lines = int(value, 0)
            elif key == "make-file":
                fname, size = value.split()
                if "/" in fname:
                    raise ValueError("make-file names a file inside {tmp}")
                spec.make_files.append((fname, int(size, 0)))
            elif key == "timeout":
                spec.timeout = float(value) * TIME_SCALE
            elif key == "skip":
                spec.skip = value
            elif key == "needs-root":
                if os.geteuid() != 0:
                    spec.skip = "needs root: " + value
            elif key == "kvm-pvm":
                spec.kvm_pvm = value
            elif key == "driver":
                spec.driver = shlex.split(value)
            elif key == "env":
                name, eq, val = value.partition("=")
                if not eq:
                    raise ValueError("env: expected NAME=VALUE")
                spec.env[name] = val
            else:
                raise ValueError(f"unknown key '{key}'")
        except ValueError as e:
            spec.error = f"{where}: {e}"
            return spec
    if spec.status is None:
        spec.error = f"{os.path.relpath(path, SRC)}: no 'status:' line"
    elif not spec.args and spec.engines:
        spec.error = f"{os.path.relpath(path, SRC)}: no 'args:' line"
    return spec


def split_lines(text):
    """Lines ending in \\n only: a stray \\r must show up in a diff, not split it."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def show_line(line):
    body = line[:-1] if line.endswith("\n") else line
    body = "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in body)
    return body + "\n" if line.endswith("\n") else body + "\n\\ no newline at end\n"


def expand(text, subst):
    for k, v in subst.items():
        text = text.replace("{" + k + "}", v)
    return text


class Engines:
    """Which engines this x86v has, and whether each can run here."""

    def __init__(self, x86v):
        self.x86v = x86v
        self.listed = None
        self.error = None
        if not os.access(x86v, os.X_OK):
            self.error = f"{x86v} not built"
            return
        rc, out, err = run_process([x86v, "info", "--engines"], 30)
        if rc != 0:
            first = (err.strip().splitlines() or [""])[0]
            self.error = f"'x86v info --engines' failed ({describe_status(rc, 30)}): {first}"
            return
        self.listed = [w.strip() for w in out.splitlines() if w.strip()]
        self.kvm_problem = None
        self.pvm = host_kvm_is_pvm()
        if "kvm" in self.listed:
            try:
                os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
            except OSError as e:
                self.kvm_problem = f"/dev/kvm not usable: {e.strerror or errno.errorcode.get(e.errno)}"

    def skip_reason(self, engine, spec):
        """None when the engine can run the spec here; else why not."""
        if self.listed is None:
            return None
        if engine in ("soft-interp", "soft-jit"):
            engine = "soft"
        if engine not in self.listed:
            return f"{engine} engine not built yet"
        if engine == "kvm" and self.kvm_problem:
            return self.kvm_problem
        if engine == "kvm" and self.pvm and spec.kvm_pvm:
            return f"host KVM is kvm_pvm: {spec.kvm_pvm}"
        return None


def host_kvm_is_pvm():
    """kvm_pvm (KVM without VT-x/AMD-V, guests run in host ring 3) provides /dev/kvm
    when no hardware module is loaded; it cannot run some instructions (int3,
    INT n from ring 3) that hardware virtualization runs."""
    mods = "/sys/module"
    return (os.path.isdir(os.path.join(mods, "kvm_pvm"))
            and not os.path.isdir(os.path.join(mods, "kvm_intel"))
            and not os.path.isdir(os.path.join(mods, "kvm_amd")))


def check_output(spec, subst, rc, out, err):
    """Compares one run with the spec; returns a list of problems."""
    problems = []
    if rc != spec.status:
        problems.append(f"exit status: expected {spec.status}, got "
                        f"{describe_status(rc, spec.timeout)}")
    expected_path = os.path.join(GUEST_DIR, spec.name + ".out")
    if spec.stdout_startswith is not None:
        want = expand(spec.stdout_startswith, subst)
        if not out.startswith(want):
            problems.append(f"stdout does not start with {want!r}:\n" + indent(tail(out) or "(empty)"))
    else:
        expected = ""
        if os.path.exists(expected_path):
            with open(expected_path, encoding="utf-8", newline="") as f:
                expected = expand(f.read(), subst)  # {guests} etc., as in the spec
        if out != expected:
            diff = difflib.unified_diff(split_lines(expected), split_lines(out),
                                        "expected " + os.path.relpath(expected_path, SRC)
                                        if os.path.exists(expected_path) else "expected (empty)",
                                        "stdout")
            text = "".join(show_line(d) for d in diff)
            problems.append("stdout differs:\n" + indent(tail(text, 60).rstrip("\n")))
    for want in spec.stderr_contains:
        want = expand(want, subst)
        if want not in err:
            problems.append(f"stderr lacks {want!r}")
    if spec.stderr_lines is not None:
        n = len(err.splitlines())
        if n != spec.stderr_lines:
            problems.append(f"stderr has {n} lines, expected {spec.stderr_lines}")
    return problems


def run_spec(spec, engine, build, x86v):
    label = f"guest/{spec.name}[{engine}]" if engine else f"cli/{spec.name}"
    with tempfile.TemporaryDirectory(prefix="x86v-test-") as tmp:
        subst = {"guests": os.path.join(build, "guests"), "build": build, "src": SRC, "tmp": tmp}
        for fname, size in spec.make_files:
            with open(os.path.join(tmp, fname), "wb") as f:
                f.write(bytes(size))
        args = [expand(a, subst) for a in spec.args]
        if engine:
            # The translator translates every block on its first run here, so
            # code a test runs once is translated code too.
            accel = {"soft": ["soft", "--jit-threshold", "1"], "soft-interp": ["soft", "--tier", "interp"],
                     "soft-jit": ["soft"]}.get(engine, [engine])
            argv = [x86v, "run", "--accel"] + accel + ["--timeout", str(X86V_TIMEOUT)] + args
        else:
            argv = [x86v] + args
        if spec.driver:
            # The driver runs x86v (argv after "--") and exits with its status,
            # or 77 with "SKIP: why" on stdout.
            argv = [sys.executable] + [expand(a, subst) for a in spec.driver] + ["--"] + argv
        env = dict(os.environ, **spec.env) if spec.env else None
        rc, out, err = run_process(argv, spec.timeout, env=env, cwd=tmp)
        if spec.driver and rc == 77:
            why = out.strip().removeprefix("SKIP:").strip() or "the driver skipped it"
            return [Result(label, "SKIP", why)]
        problems = check_output(spec, subst, rc, out, err)
    if not problems:
        return [Result(label, "PASS")]
    detail = ["command: " + shlex.join(argv)] + problems
    if err.strip():
        detail.append("stderr:\n" + indent(tail(err)))
    return [Result(label, "FAIL", "\n".join(detail))]


# ---- main -----------------------------------------------------------------------

def selected(name, patterns):
    if not patterns:
        return True
    return any(p in name or fnmatch.fnmatch(name, p) for p in patterns)


def main():
    ap = argparse.ArgumentParser(description="Run x86v's unit, guest and command-line tests.")
    ap.add_argument("--build", default="build", help="the normal build directory (default: build)")
    ap.add_argument("--asan-build", help="the ASan+UBSan build directory, for asan/ unit tests")
    ap.add_argument("--tsan-build", help="the ThreadSanitizer build directory: its unit tests that are built "
                    "(make check builds those of the concurrent parts) run as tsan/ tests")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("patterns", nargs="*",
                    help="run only tests whose name contains (or glob-matches) one of these")
    opts = ap.parse_args()

    build = os.path.abspath(opts.build)
    x86v = os.path.join(build, "x86v")
    notes = Notes()
    jobs = []           # (kind, callable) in the order results are printed
    early = []          # results known without running anything

    unit_sets = [("unit", build)]
    if opts.asan_build:
        unit_sets.append(("asan", os.path.abspath(opts.asan_build)))
    if opts.tsan_build:
        unit_sets.append(("tsan", os.path.abspath(opts.tsan_build)))
    for label, d in unit_sets:
        if not os.path.isdir(d):
            early.append(Result(f"{label}", "FAIL", f"build directory {d} does not exist"))
            continue
        for b in find_unit_binaries(d):
            prefix = f"{label}/{os.path.basename(b)}"
            if selected(prefix, opts.patterns) or any(prefix in p for p in opts.patterns):
                jobs.append(lambda label=label, b=b: run_unit(label, b, notes))

    specs = [parse_spec(os.path.join(GUEST_DIR, f))
             for f in sorted(os.listdir(GUEST_DIR)) if f.endswith(".test")]
    engines = None
    for spec in specs:
        names = [f"guest/{spec.name}[{e}]" for e in spec.engines] or [f"cli/{spec.name}"]
        if not any(selected(n, opts.patterns) for n in names):
            continue
        if spec.error:
            early.append(Result(names[0].split("[")[0], "FAIL", "bad spec: " + spec.error))
            continue
        if spec.skip:
            early.extend(Result(n, "SKIP", spec.skip) for n in names)
            continue
        if not spec.engines:
            jobs.append(lambda spec=spec: run_spec(spec, None, build, x86v))
            continue
        if engines is None:
            engines = Engines(x86v)
            if engines.error:
                print(f"note: {engines.error}; every guest test fails", flush=True)
        for e, n in zip(spec.engines, names):
            if engines.error:
                early.append(Result(n, "FAIL", engines.error))
                continue
            why = engines.skip_reason(e, spec)
            if why:
                early.append(Result(n, "SKIP", why))
            else:
                jobs.append(lambda spec=spec, e=e: run_spec(spec, e, build, x86v))

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    failures = []

    def report(results):
        for r in results:
            counts[r.status] += 1
            if r.status == "SKIP":
                print(f"SKIP {r.name}: {r.detail}", flush=True)
            else:
                print(f"{r.status} {r.name}", flush=True)
                if r.status == "FAIL":
                    failures.append(r)
                    if r.detail:
                        print(indent(r.detail), flush=True)

    report(early)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
        for fut in futures:                 # print in a stable order as results arrive
            try:
                report(fut.result())
            except Exception as e:          # a runner bug must not pass silently
                report([Result("runner", "FAIL", f"internal error: {e!r}")])

    for n in notes.items:
        print(f"note: {n}")
    if failures:
        print("failed: " + " ".join(r.name for r in failures))
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
