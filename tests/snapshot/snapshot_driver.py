#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver: a run cut in two by a snapshot.

  snapshot_driver.py --to ENGINE [--at SECONDS] [--kvm-pvm WHY] -- X86V-COMMAND...
  snapshot_driver.py --to ENGINE --linux SCRIPT --after TEXT -- X86V-COMMAND...

Runs the x86v command the test runner gives (`x86v run --accel E --timeout N
ARGS`) with its --timeout replaced by --at (default 1 s of guest time) and
--snapshot-on-exit, so that the run ends mid-way with status 12 and a
snapshot; then restores that snapshot in a new x86v process on ENGINE (the
same ARGS, --restore added) and lets it finish. Prints what both runs wrote
to stdout, one after the other, and exits with the second run's status: the
test's .out file holds the output of one uninterrupted run.

With --linux, the command boots the Debian guest with SCRIPT as its workload
(tests/linux/linux_driver.py), and the first run is ended with Ctrl-A x on
its console as soon as a line containing TEXT appears; only the workload's
lines (from "workload: start" on) are printed.
Exits 77 with "SKIP: why" when ENGINE cannot run here.
"""
import argparse
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "linux"))
import linux_driver  # noqa: E402
sys.path.insert(0, os.path.join(SRC, "tests"))
from run import host_kvm_is_pvm  # noqa: E402


def engine_usable(x86v, engine):
    if engine != "kvm":
        return True
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def replace_option(argv, name, value):
    """argv with option name's value replaced (added when absent)."""
    out = list(argv)
    if name in out:
        out[out.index(name) + 1] = value
    else:
        out[2:2] = [name, value]
    return out


def workload_lines(text):
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip() == "workload: start"), None)
    if start is None:
        return []
    keep = ("workload:", "step ", "sha256:")
    return [l.strip() for l in lines[start:] if l.strip().startswith(keep)]


def run_until(argv, marker):
    """Runs argv until a stdout line holds marker, then types Ctrl-A x."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    sent = False
    for line in iter(p.stdout.readline, b""):
        out += line
        if not sent and marker.encode() in line:
            p.stdin.write(b"\x01x")
            p.stdin.flush()
            sent = True
    err = p.stderr.read()
    return p.wait(), out.decode(errors="replace"), err.decode(errors="replace")


def linux(opts, cmd):
    with tempfile.TemporaryDirectory(prefix="x86v-snap-") as tmp:
        argv = linux_driver.guest_command(cmd, "cloud", opts.linux, "", tmp)
        if argv is None:
            return 77
        snap = os.path.join(tmp, "snap")
        rc, out1, err = run_until(argv + ["--snapshot-on-exit", snap], opts.after)
        sys.stderr.write(err)
        if rc != 0 or f"snapshot written to {snap}" not in err:
            sys.stdout.write(out1)
            sys.stderr.write(f"snapshot_driver: the first run ended with status {rc}, not 0 with a snapshot\n")
            return 1
        second = replace_option(argv, "--accel", opts.to) + ["--restore", snap]
        two = subprocess.run(second, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sys.stderr.write(two.stderr.decode(errors="replace"))
        first_lines = workload_lines(out1)
        rest = [l.strip() for l in two.stdout.decode(errors="replace").splitlines()
                if l.strip().startswith(("workload:", "step ", "sha256:"))]
        print("\n".join(first_lines + rest))
        sys.stderr.write(f"snapshot_driver: {len(first_lines)} workload lines before the snapshot, "
                         f"{len(rest)} after\n")
        return two.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True, help="the engine that restores the snapshot")
    ap.add_argument("--at", default="1", help="guest seconds before the snapshot")
    ap.add_argument("--kvm-pvm", help="skip restoring on kvm_pvm, which cannot run this (why)")
    ap.add_argument("--linux", help="boot the Linux guest with this workload script")
    ap.add_argument("--after", help="--linux: end the first run once a line holds this")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    cmd = opts.command[1:] if opts.command[:1] == ["--"] else opts.command
    if not engine_usable(cmd[0], opts.to):
        print(f"SKIP: the {opts.to} engine cannot run here (/dev/kvm unusable)")
        return 77
    if opts.to == "kvm" and opts.kvm_pvm and host_kvm_is_pvm():
        print(f"SKIP: host KVM is kvm_pvm: {opts.kvm_pvm}")
        return 77
    if opts.linux:
        return linux(opts, cmd)
    with tempfile.TemporaryDirectory(prefix="x86v-snap-") as tmp:
        snap = os.path.join(tmp, "snap")
        first = replace_option(cmd, "--timeout", opts.at) + ["--snapshot-on-exit", snap]
        one = subprocess.run(first, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sys.stdout.write(one.stdout)
        sys.stderr.write(one.stderr)
        if one.returncode != 12 or f"snapshot written to {snap}" not in one.stderr:
            sys.stderr.write(f"snapshot_driver: the first run ended with status {one.returncode}, "
                             "not 12 with a snapshot\n")
            return 1
        second = replace_option(cmd, "--accel", opts.to)
        if opts.to != "soft":  # the soft engine's tier options mean nothing to another engine
            for opt in ("--jit-threshold",):
                if opt in second:
                    i = second.index(opt)
                    del second[i:i + 2]
            if "--tier" in second:
                i = second.index("--tier")
                del second[i:i + 2]
        second += ["--restore", snap]
        sys.stdout.flush()
        two = subprocess.run(second, stderr=subprocess.PIPE, text=True)
        sys.stderr.write(two.stderr)
        return two.returncode


if __name__ == "__main__":
    sys.exit(main())
