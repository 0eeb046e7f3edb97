#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for output that is not byte-exact (firmware's screen
escapes, retries): runs the x86v command after "--", checks that its stdout
contains each TEXT given with --contains, and exits with x86v's status (1 if
a text is missing). --needs FILE skips the test (status 77) when FILE is absent.
"""
import argparse
import os
import subprocess
import sys


def main():
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--contains", action="append", default=[])
    ap.add_argument("--needs", action="append", default=[])
    opts = ap.parse_args(sys.argv[1:split])
    for path in opts.needs:
        if not os.path.exists(path):
            print(f"SKIP: {path} is not installed")
            return 77
    p = subprocess.run(sys.argv[split + 1:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    out = p.stdout.decode(errors="replace")
    missing = [t for t in opts.contains if t not in out]
    for t in missing:
        print(f"stdout lacks {t!r}", file=sys.stderr)
    return 1 if missing else p.returncode


if __name__ == "__main__":
    sys.exit(main())
