#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for the Debian Linux guest (scripts/mkguest's images).

  linux_driver.py [--flavour F] [--script FILE | --no-initrd] [--append TEXT] -- X86V-COMMAND...

Adds the kernel, initramfs, RAM and command line to the x86v command the test
runner gives (`x86v run --accel E --timeout N`), runs it with stdout/stderr
passed through, and exits with x86v's status. With --script the guest's /init
runs FILE and x86v exits with the script's status (guest-init's x86v-exit).
Exits 77 with "SKIP: why" when the guest images are not built.
"""
import argparse
import base64
import os
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_APPEND = "console=ttyS0 quiet loglevel=0 panic=-1"
TIMEOUT = "240"


def main():
    if "--" not in sys.argv:
        sys.exit("linux_driver.py: expected -- X86V-COMMAND")
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--flavour", default="cloud")
    ap.add_argument("--script")
    ap.add_argument("--no-initrd", action="store_true")
    ap.add_argument("--append", default="")
    opts = ap.parse_args(sys.argv[1:split])
    x86v = sys.argv[split + 1:]

    images = os.path.join(SRC, "guest-images", opts.flavour)
    kernel = os.path.join(images, "bzImage")
    initrd = os.path.join(images, "initramfs.cpio.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        print(f"SKIP: guest images not built ({images}: run scripts/mkguest)")
        return 77

    append = BASE_APPEND + (" " + opts.append if opts.append else "")
    if opts.script:
        with open(os.path.join(SRC, opts.script), "rb") as f:
            append += " x86v.script=" + base64.b64encode(f.read()).decode()
    argv = x86v + ["-m", "512M", "--kernel", kernel, "--append", append, "--no-reboot", "--timeout", TIMEOUT]
    if not opts.no_initrd:
        argv += ["--initrd", initrd]
    return subprocess.run(argv, stdin=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main())
