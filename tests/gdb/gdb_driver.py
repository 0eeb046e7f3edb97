#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one GDB session against x86v (a guest test's `driver:`, tests/guest/README.md).

usage: gdb_driver.py --script FILE.gdb --expect FILE.expect [--elf ELF] -- X86V ARGS...

Starts X86V ARGS plus `--gdb tcp:127.0.0.1:0 -S`, reads the port from x86v's
"gdb: listening on" line, runs `gdb -batch -nx -x SCRIPT [ELF]` ({port} in the
script is replaced), then checks that every line of FILE.expect appears in
GDB's output, in order, and exits with x86v's exit status (the spec's
`status:` checks it). A missing expectation exits 1 with the transcript on
stderr. Exit 77 with "SKIP: why" on stdout when gdb is not installed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--elf")
    ap.add_argument("x86v", nargs=argparse.REMAINDER)
    o = ap.parse_args()
    argv = o.x86v[1:] if o.x86v and o.x86v[0] == "--" else o.x86v
    gdb = shutil.which("gdb")
    if not gdb:
        print("SKIP: gdb is not installed (scripts/bootstrap installs it)")
        return 77

    err_file = tempfile.TemporaryFile(mode="w+")
    vm = subprocess.Popen(argv + ["--gdb", "tcp:127.0.0.1:0", "-S"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=err_file, text=True)
    port = None
    deadline = time.time() + 20
    while port is None and time.time() < deadline and vm.poll() is None:
        err_file.seek(0)
        m = re.search(r"gdb: listening on [0-9.]+:(\d+)", err_file.read())
        if m:
            port = m.group(1)
        else:
            time.sleep(0.05)
    if port is None:
        vm.kill()
        vm.wait()
        err_file.seek(0)
        sys.stderr.write("x86v did not start its GDB stub:\n" + err_file.read())
        return 1

    with open(o.script, encoding="utf-8") as f:
        script = f.read().replace("{port}", port)
    with tempfile.NamedTemporaryFile("w", suffix=".gdb", delete=False) as sf:
        sf.write(script)
    cmd = [gdb, "-batch", "-nx", "-x", sf.name] + ([o.elf] if o.elf else [])
    try:
        # One pipe for both, so monitor output (stderr) stays in order.
        g = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=TIMEOUT)
        transcript = g.stdout
    except subprocess.TimeoutExpired as e:
        transcript = (e.stdout or b"").decode(errors="replace") + "\n(gdb timed out)"
    finally:
        os.unlink(sf.name)
    try:
        out, _ = vm.communicate(timeout=TIMEOUT)
        status = vm.returncode
    except subprocess.TimeoutExpired:
        vm.kill()
        out, _ = vm.communicate()
        status = 124
    err_file.seek(0)
    x86v_err = err_file.read()

    with open(o.expect, encoding="utf-8") as f:
        wants = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    pos, missing = 0, None
    for w in wants:
        i = transcript.find(w, pos)
        if i < 0:
            missing = w
            break
        pos = i + len(w)
    if missing is not None:
        sys.stderr.write(f"gdb output lacks {missing!r} (expected in this order: {o.expect})\n"
                         f"--- gdb ---\n{transcript}\n--- x86v stderr ---\n{x86v_err}")
        return 1
    if status < 0 or status > 255:
        sys.stderr.write(f"x86v ended abnormally ({status})\n{x86v_err}")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
