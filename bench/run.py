#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""x86v benchmarks: figures side by side with peers measured in the same run.

Never pass/fail: prints a table of medians and the ratio x86v/peer (lower is
better for x86v). Peers: QEMU with KVM and with TCG (Debian's qemu-system-x86,
installed by `scripts/bootstrap --bench`); a peer that cannot run here is
listed with the reason.

Workloads:
  rom-boot   start the VMM, run the hello ROM guest (real -> protected -> long
             mode, three UART lines), exit through the debug-exit port.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import time

RUNS = 15


def time_command(cmd, expect_status):
    samples = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        t1 = time.perf_counter()
        if p.returncode != expect_status:
            return None, f"exit status {p.returncode}: {p.stderr.decode(errors='replace').strip()[:120]}"
        samples.append(t1 - t0)
    return statistics.median(samples), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    rom = os.path.join(args.build, "guests", "hello-rom.bin")
    x86v = os.path.join(args.build, "x86v")
    qemu = shutil.which("qemu-system-x86_64")
    kvm_ok = os.access("/dev/kvm", os.R_OK | os.W_OK)

    rows = []
    ours, why = time_command([x86v, "run", "--accel", "kvm", "--bios", rom], 3) if kvm_ok else (None, "/dev/kvm not usable")
    rows.append(("x86v kvm", ours, why))
    qemu_base = [qemu, "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot", "-m", "128",
                 "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-bios", rom] if qemu else None
    for accel in ("kvm", "tcg"):
        if not qemu:
            rows.append((f"qemu {accel}", None, "qemu-system-x86_64 not installed"))
            continue
        if accel == "kvm" and not kvm_ok:
            rows.append(("qemu kvm", None, "/dev/kvm not usable"))
            continue
        t, why = time_command(qemu_base + ["-accel", accel], 3)
        rows.append((f"qemu {accel}", t, why))

    print(f"rom-boot: hello ROM guest, start to exit, median of {RUNS} runs")
    print(f"{'engine':<12} {'seconds':>10} {'x86v kvm / this':>16}")
    for name, t, why in rows:
        if t is None:
            print(f"{name:<12} {'-':>10} {'':>16}  ({why})")
            continue
        ratio = f"{ours / t:.2f}" if ours else "-"
        print(f"{name:<12} {t:>10.4f} {ratio:>16}")


if __name__ == "__main__":
    main()
