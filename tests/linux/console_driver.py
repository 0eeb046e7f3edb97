#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for interactive consoles: boots the Linux guest (as
linux_driver.py does) with x86v's stdin a pipe, and types TEXT (a line) into
it once MARKER appears in x86v's output.

  console_driver.py --script FILE [--append TEXT] --on MARKER --type TEXT -- X86V-COMMAND...

Exits with x86v's status, 77 with "SKIP: why" when the guest images are not built.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_driver import guest_command  # noqa: E402


def main():
    if "--" not in sys.argv:
        sys.exit("console_driver.py: expected -- X86V-COMMAND")
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--append", default="")
    ap.add_argument("--on", required=True)
    ap.add_argument("--type", required=True)
    opts = ap.parse_args(sys.argv[1:split])
    with tempfile.TemporaryDirectory(prefix="x86v-console-") as tmp:
        argv = guest_command(sys.argv[split + 1:], "cloud", opts.script, opts.append, tmp)
        if argv is None:
            return 77
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        marker = opts.on.encode()
        for line in p.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
            if marker in line and p.stdin:
                p.stdin.write(opts.type.encode() + b"\n")
                p.stdin.close()
                p.stdin = None
        return p.wait()


if __name__ == "__main__":
    sys.exit(main())
