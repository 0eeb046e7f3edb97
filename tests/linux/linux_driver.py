#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for the Debian Linux guest (scripts/mkguest's images).

  linux_driver.py [--flavour F] [--script FILE | --no-initrd] [--append TEXT]
                  [--program NAME=SOURCE.c]... [--boots N --busy K] -- X86V-COMMAND...

Adds the kernel, initramfs, RAM and command line to the x86v command the test
runner gives (`x86v run --accel E --timeout N`), runs it with stdout/stderr
passed through, and exits with x86v's status. With --script the guest's /init
runs FILE (shipped as /x86v/script in an extra cpio archive appended to the
initramfs) and x86v exits with the script's status (guest-init's x86v-exit).
The host's time goes along as x86v.hosttime= so the script can check the RTC.
--boots N runs the guest N times, stopping at the first nonzero status, with
--busy K CPU-bound processes spinning on the host meanwhile (a loaded host).
--program compiles a C source with the host's cc (static, -pthread) and ships
it as /x86v/NAME beside the script.
Exits 77 with "SKIP: why" when the guest images are not built.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A stock command line (no tsc=reliable: see scripts/run-linux).
BASE_APPEND = "console=ttyS0 quiet loglevel=0 panic=-1"
TIMEOUT = "240"


def newc_script(data, files=()):
    """A newc cpio archive holding /x86v/script, which guest-init runs when the
    command line has no x86v.script (the kernel keeps only 2047 bytes of it),
    and files, (name under /x86v, bytes, mode) each."""
    out = bytearray()

    def entry(ino, name, mode, body):
        nb = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(nb), 0)
        out.extend(("070701" + "".join("%08X" % v for v in fields)).encode() + nb)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(body)
        out.extend(b"\0" * (-len(out) % 4))

    entry(1, "x86v", 0o40755, b"")
    entry(2, "x86v/script", 0o100644, data)
    for ino, (name, body, mode) in enumerate(files, start=3):
        entry(ino, "x86v/" + name, mode, body)
    entry(0, "TRAILER!!!", 0, b"")
    return bytes(out)


def guest_command(x86v, flavour, script, append_extra, tmp, no_initrd=False, files=()):
    """The x86v command that boots the guest, with the script shipped in the
    initramfs; None when the guest images are not built."""
    images = os.path.join(SRC, "guest-images", flavour)
    kernel = os.path.join(images, "bzImage")
    initrd = os.path.join(images, "initramfs.cpio.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        print(f"SKIP: guest images not built ({images}: run scripts/mkguest)")
        return None
    append = BASE_APPEND + (" " + append_extra if append_extra else "")
    append += " x86v.hosttime=%d" % int(time.time())
    argv = x86v + ["-m", "512M", "--kernel", kernel, "--append", append, "--no-reboot", "--timeout", TIMEOUT]
    if script:
        with open(os.path.join(SRC, script), "rb") as f:
            body = f.read()
        combined = os.path.join(tmp, "initrd")
        with open(initrd, "rb") as src, open(combined, "wb") as dst:
            base = src.read()
            # The kernel looks for the next archive at a 4-byte boundary.
            dst.write(base + b"\0" * (-len(base) % 4))
            dst.write(newc_script(body, files))
        initrd = combined
    if not no_initrd:
        argv += ["--initrd", initrd]
    return argv


def main():
    if "--" not in sys.argv:
        sys.exit("linux_driver.py: expected -- X86V-COMMAND")
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--flavour", default="cloud")
    ap.add_argument("--script")
    ap.add_argument("--no-initrd", action="store_true")
    ap.add_argument("--append", default="")
    ap.add_argument("--boots", type=int, default=1)
    ap.add_argument("--busy", type=int, default=0)
    ap.add_argument("--program", action="append", default=[])
    opts = ap.parse_args(sys.argv[1:split])
    x86v = sys.argv[split + 1:]

    with tempfile.TemporaryDirectory(prefix="x86v-linux-") as tmp:
        files = []
        for spec in opts.program:
            name, source = spec.split("=", 1)
            out = os.path.join(tmp, name)
            subprocess.run(["cc", "-O2", "-static", "-pthread", "-o", out, os.path.join(SRC, source)], check=True)
            with open(out, "rb") as f:
                files.append((name, f.read(), 0o100755))
        argv = guest_command(x86v, opts.flavour, opts.script, opts.append, tmp, opts.no_initrd, files)
        if argv is None:
            return 77
        # Each hog spins until this driver is gone, however it ends (even killed).
        hog = f"import os\nwhile os.getppid() == {os.getpid()}: pass"
        hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(opts.busy)]
        try:
            for boot in range(opts.boots):
                rc = subprocess.run(argv, stdin=subprocess.DEVNULL).returncode
                if rc != 0 or opts.boots == 1:
                    if opts.boots > 1:
                        print(f"boot {boot + 1} of {opts.boots}: status {rc}")
                    return rc
            print(f"{opts.boots} boots")
            return 0
        finally:
            for h in hogs:
                h.kill()
                h.wait()


if __name__ == "__main__":
    sys.exit(main())
