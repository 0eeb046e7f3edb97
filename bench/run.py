#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""x86v benchmarks: figures side by side with peers measured in the same run.

Never pass/fail: prints tables of figures and the ratio x86v/peer (for times
lower is better for x86v, for MIPS higher). Peers: QEMU (Debian's qemu-system-x86, installed by
`scripts/bootstrap --bench`) with TCG and, for the ROM boot, KVM; Bochs 2.7
(Debian's bochs) for the integer loop. A peer that
cannot run here is listed with the reason.

  rom-boot    start the VMM, run the hello ROM guest, exit (median of runs)
  int-loop    120,000,000 guest instructions of a 64-bit integer loop: MIPS
  linux       Debian's kernel + busybox initramfs (scripts/mkguest): boot to
              /init, sha256 of 32 MiB, a 200,000-iteration sh loop, timed on
              the host from marker lines on the serial console
  linux-io    the same guest with a 1 GiB raw virtio-blk disk and a virtio-net
              card on user-mode networking (x86v and QEMU alike): dd write and
              read of 1 GiB with O_DIRECT, 20,000 random 4 KiB O_DIRECT reads
              (bench/randread.c), 128 MiB over TCP to a sink on the host
  snapshot    the same guest with 512 MiB of RAM mid-workload (soft engine):
              time to write a snapshot, and from the start of a new x86v
              process to the restored guest running (x86v's own figures)
              and to its next line of output (the host's), beside
              Firecracker's published figures; and the control API: from
              the process's start through the configuration requests and
              InstanceStart to the guest's first line from its /init
  smp         the same guest running two independent CPU-bound loops
              (tests/linux/smp_counter.c --bench), timed inside the guest,
              with one vCPU and with two: the parallel speed-up, beside QEMU
              TCG's (multi-threaded TCG) with -smp 1 and 2
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "linux"))
from linux_driver import newc_script  # noqa: E402

LOOP_INSNS = 120_000_000
SECTIONS = ("rom-boot", "int-loop", "linux", "linux-io", "snapshot", "smp")
QEMU_DEV = ["-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def timed(cmd, expect, runs):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=600)
        samples.append(time.perf_counter() - t0)
        if p.returncode != expect:
            return None, f"exit status {p.returncode}: {p.stderr.decode(errors='replace').strip()[-120:]}"
    return min(samples) if runs > 1 else samples[0], None


def table(title, unit, rows, ours_name, higher_is_better=False):
    print(f"\n{title}")
    ours = dict((n, v) for n, v, _ in rows).get(ours_name)
    print(f"  {'':<14} {unit:>12} {'x86v / this':>12}")
    for name, v, why in rows:
        if v is None:
            print(f"  {name:<14} {'-':>12} {'':>12}  ({why})")
            continue
        ratio = f"{ours / v:.2f}" if ours else "-"
        fmt = f"{v:>12.1f}" if higher_is_better else f"{v:>12.3f}"
        print(f"  {name:<14} {fmt} {ratio:>12}")


def phases(cmd, markers, timeout=900):
    """Runs cmd to its end; returns ({marker: seconds since start}, stderr text, peak RSS in MiB)."""
    t0 = time.perf_counter()
    rss = None
    seen = {}
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in p.stdout:
            text = line.decode(errors="replace").strip()
            for m in markers:
                if m in text and m not in seen:
                    seen[m] = time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                break
        err = p.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss / 1024
        seen["cpu"] = usage.ru_utime + usage.ru_stime
        seen["wall"] = time.perf_counter() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return seen, err, rss


def bochs_loop(rom):
    """The integer-loop ROM under Bochs 2.7 (Debian's, with its internal debugger:
    "c" on stdin starts it; the guest ends it through Bochs's shutdown port)."""
    bochs = shutil.which("bochs")
    if not bochs:
        return ("bochs", None, "bochs not installed (scripts/bootstrap --bench)")
    with tempfile.TemporaryDirectory(prefix="x86v-bochs-") as tmp:
        rc, log = os.path.join(tmp, "bochsrc"), os.path.join(tmp, "log")
        with open(rc, "w") as f:
            f.write(f"megs: 128\nromimage: file={os.path.abspath(rom)}\nvga: extension=none\n"
                    'display_library: rfb, options="timeout=0"\nspeaker: enabled=0\n'
                    "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy\n"
                    f"log: {log}\ncpu: count=1, ips=100000000\nclock: sync=none\n")
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([bochs, "-q", "-f", rc], input=b"c\n", stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600, cwd=tmp)
            t = time.perf_counter() - t0
            with open(log, errors="replace") as f:
                if "Shutdown port: shutdown requested" not in f.read():
                    return ("bochs", None, "Bochs did not reach the end of the loop")
            best = t if best is None else min(best, t)
        return ("bochs", LOOP_INSNS / best / 1e6, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", action="append", choices=SECTIONS,
                    help="run only this section (repeatable; default: all)")
    args = ap.parse_args()

    def want(section):
        return not args.only or section in args.only

    x86v = os.path.join(args.build, "x86v")
    guests = os.path.join(args.build, "guests")
    qemu = shutil.which("qemu-system-x86_64")
    kvm_ok = os.access("/dev/kvm", os.R_OK | os.W_OK)
    no_qemu = "qemu-system-x86_64 not installed (scripts/bootstrap --bench)"

    if want("rom-boot"):
        # ROM boot: VMM start-up plus a tiny guest.
        rom = os.path.join(guests, "hello-rom.bin")
        rows = []
        for name, accel in (("x86v kvm", "kvm"), ("x86v soft", "soft")):
            if accel == "kvm" and not kvm_ok:
                rows.append((name, None, "/dev/kvm not usable"))
                continue
            t, why = timed([x86v, "run", "--accel", accel, "--bios", rom], 3, args.runs)
            rows.append((name, t, why))
        for accel in ("kvm", "tcg"):
            if not qemu or (accel == "kvm" and not kvm_ok):
                rows.append((f"qemu {accel}", None, no_qemu if not qemu else "/dev/kvm not usable"))
                continue
            t, why = timed([qemu] + QEMU_DEV + ["-m", "128", "-bios", rom, "-accel", accel], 3, args.runs)
            rows.append((f"qemu {accel}", t, why))
        table("rom-boot: hello ROM guest, start to exit (best of %d)" % args.runs, "seconds", rows, "x86v soft")

    if want("int-loop"):
        # Integer loop: guest MIPS.
        loop = os.path.join(guests, "bench-loop-rom.bin")
        rows = []
        t, why = timed([x86v, "run", "--accel", "soft", "--bios", loop], 3, 3)
        rows.append(("x86v soft", LOOP_INSNS / t / 1e6 if t else None, why))
        t, why = timed([x86v, "run", "--accel", "soft", "--tier", "interp", "--bios", loop], 3, 3)
        rows.append(("x86v interp", LOOP_INSNS / t / 1e6 if t else None, why))
        if qemu:
            t, why = timed([qemu] + QEMU_DEV + ["-m", "128", "-bios", loop, "-accel", "tcg"], 3, 3)
            rows.append(("qemu tcg", LOOP_INSNS / t / 1e6 if t else None, why))
        else:
            rows.append(("qemu tcg", None, no_qemu))
        rows.append(bochs_loop(loop))
        table("int-loop: 64-bit integer loop, guest MIPS (best of 3; includes VMM start-up)", "MIPS", rows,
              "x86v soft", higher_is_better=True)

    if want("linux"):
        linux_workload(x86v, qemu, no_qemu, args.build)
    if want("linux-io"):
        linux_io(x86v, qemu, no_qemu, args.build)
    if want("snapshot"):
        snapshot_bench(x86v, args.runs)
        api_bench(x86v, args.runs)
    if want("smp"):
        smp_bench(x86v, qemu, no_qemu, args.build)


def guest_images(section):
    """The cloud guest's kernel and initramfs, or None (with the section's skip line) when not built."""
    images = os.path.join(SRC, "guest-images", "cloud")
    kernel, initrd = os.path.join(images, "bzImage"), os.path.join(images, "initramfs.cpio.gz")
    if not os.path.exists(kernel):
        print(f"\n{section}: skipped (guest images not built: make guest)")
        return None
    return kernel, initrd


def bench_initrd(initrd, out, script, files=()):
    """out: initrd with bench/SCRIPT as the guest's /x86v/script, and files beside it."""
    with open(initrd, "rb") as src, open(os.path.join(SRC, "bench", script), "rb") as body:
        base = src.read()
        data = base + b"\0" * (-len(base) % 4) + newc_script(body.read(), files)
    with open(out, "wb") as dst:
        dst.write(data)
    return out


def linux_workload(x86v, qemu, no_qemu, build):
    """Boot and CPU-bound workload of the Linux guest, beside QEMU TCG."""
    images = guest_images("linux")
    if not images:
        return
    kernel, initrd = images
    combined = bench_initrd(initrd, os.path.join(build, "bench-initrd"), "linux-workload.sh")
    append = "console=ttyS0 quiet loglevel=0 panic=-1"
    markers = ["x86v-script-begin", "bench: sha256 done", "bench: loop done"]
    ours_cmd = [x86v, "run", "--accel", "soft", "-m", "512M", "--kernel", kernel, "--initrd", combined,
                "--append", append, "--no-reboot", "--stats"]
    runs = [("x86v soft", ours_cmd), ("x86v interp", ours_cmd + ["--tier", "interp"])]
    if qemu:
        runs.append(("qemu tcg", [qemu] + QEMU_DEV + ["-accel", "tcg", "-m", "512M", "-kernel", kernel, "-initrd",
                                                      combined, "-append", append]))
    results, stderr, rss = {}, {}, {}
    for name, cmd in runs:
        results[name], stderr[name], rss[name] = phases(cmd, markers)
        for k in ("cpu", "wall"):
            results[name].pop(k, None)
    print("\nlinux: Debian cloud kernel + busybox, -m 512M, timed from serial markers (seconds);")
    print("x86v soft is the translator (the default), x86v interp the interpreter alone (--tier interp)")
    print(f"  {'':<12} {'boot to init':>13} {'sha256 32MiB':>13} {'sh loop 200k':>13} {'peak RSS MiB':>13}")
    ours = results.get("x86v soft", {})
    for name, seen in results.items():
        cols = []
        if markers[0] in seen:
            cols.append(seen[markers[0]])
        if markers[1] in seen and markers[0] in seen:
            cols.append(seen[markers[1]] - seen[markers[0]])
        if markers[2] in seen and markers[1] in seen:
            cols.append(seen[markers[2]] - seen[markers[1]])
        line = " ".join(f"{c:>13.2f}" for c in cols)
        if len(cols) == 3 and rss.get(name):
            line += f" {rss[name]:>13.0f}"
        print(f"  {name:<12} " + line + ("  (incomplete)" if len(cols) < 3 else ""))
    if "qemu tcg" in results and len(ours) == 3 and len(results["qemu tcg"]) == 3:
        q = results["qemu tcg"]
        r = [ours[markers[0]] / q[markers[0]],
             (ours[markers[1]] - ours[markers[0]]) / (q[markers[1]] - q[markers[0]]),
             (ours[markers[2]] - ours[markers[1]]) / (q[markers[2]] - q[markers[1]])]
        print(f"  {'x86v/qemu':<12} " + " ".join(f"{c:>13.2f}" for c in r))
    if not qemu:
        print(f"  qemu tcg: {no_qemu}")
    for name in ("x86v soft", "x86v interp"):
        for line in [l for l in stderr.get(name, "").splitlines() if "stats:" in l]:
            print(f"  {name}, whole run: " + line.split("stats: ", 1)[1])


NET_BYTES = 128 << 20


def net_sink():
    """A TCP sink on 127.0.0.1 taking NET_BYTES, then closing: (port, thread)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(900)

    def run():
        try:
            conn, _ = srv.accept()
            with conn:
                got = 0
                while got < NET_BYTES:
                    chunk = conn.recv(1 << 20)
                    if not chunk:
                        break
                    got += len(chunk)
        except OSError:
            pass
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], t


def linux_io(x86v, qemu, no_qemu, build):
    """The virtio I/O section: the same guest script and devices on x86v and QEMU TCG."""
    images = guest_images("linux-io")
    if not images:
        return
    kernel, initrd = images
    randread = os.path.join(build, "bench-randread")
    cc = subprocess.run(["cc", "-O2", "-static", "-o", randread, os.path.join(SRC, "bench", "randread.c")],
                        capture_output=True, text=True)
    if cc.returncode:
        print("\nlinux-io: skipped (cannot build bench/randread.c statically: %s)" % cc.stderr.strip()[-200:])
        return
    with open(randread, "rb") as prog:
        files = [("randread", prog.read(), 0o100755)]
    combined = bench_initrd(initrd, os.path.join(build, "bench-io-initrd"), "linux-io.sh", files)
    markers = ["bench: io begin", "bench: write done", "bench: read done", "bench: randread done",
               "bench: net done"]
    vmms = [("x86v soft", lambda img, append: [x86v, "run", "--accel", "soft", "-m", "512M", "--kernel", kernel,
                                               "--initrd", combined, "--append", append, "--no-reboot",
                                               "--drive", "file=" + img, "--net", "user"])]
    if qemu:
        vmms.append(("qemu tcg", lambda img, append: [qemu] + QEMU_DEV + [
            "-accel", "tcg", "-m", "512M", "-kernel", kernel, "-initrd", combined, "-append", append,
            "-drive", "file=%s,if=virtio,format=raw" % img, "-netdev", "user,id=n0",
            "-device", "virtio-net-pci,netdev=n0"]))
    results = {}
    # The image lives in RAM (tmpfs) where there is room, so that the host's own disk and its
    # writeback do not decide the figures: what is measured is each VMM's I/O path.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and shutil.disk_usage("/dev/shm").free > (3 << 30) else None
    with tempfile.TemporaryDirectory(prefix="x86v-bench-io-", dir=shm) as tmp:
        for name, make in vmms:
            img = os.path.join(tmp, "disk.img")
            with open(img, "wb") as f:
                f.truncate(1 << 30)
            port, sink = net_sink()
            append = "console=ttyS0 quiet loglevel=0 panic=-1 x86v.netport=%d" % port
            results[name] = phases(make(img, append), markers)[0]
            sink.join(timeout=5)
            os.unlink(img)
    print("\nlinux-io: virtio-blk (1 GiB raw image%s, O_DIRECT in the guest) and virtio-net (user-mode"
          % (" on tmpfs" if shm else ""))
    print("networking, guest -> host TCP), the same guest and devices on each VMM; higher is better")
    cols = ["write MB/s", "read MB/s", "4K rand IOPS", "net Mbit/s", "CPU/wall"]
    print(f"  {'':<12} " + " ".join(f"{c:>13}" for c in cols))
    figures = {}
    for name, seen in results.items():
        if not all(m in seen for m in markers):
            print(f"  {name:<12} (incomplete: reached {[m for m in markers if m in seen][-1:] or 'nothing'})")
            continue
        d = [seen[markers[i + 1]] - seen[markers[i]] for i in range(4)]
        figures[name] = [1024 * 1.048576 / d[0], 1024 * 1.048576 / d[1], 20000 / d[2],
                         NET_BYTES * 8 / 1e6 / d[3], seen["cpu"] / seen["wall"]]
        print(f"  {name:<12} " + " ".join(f"{v:>13.1f}" if i < 4 else f"{v:>13.2f}"
                                         for i, v in enumerate(figures[name])))
    if "x86v soft" in figures and "qemu tcg" in figures:
        r = [a / b for a, b in zip(figures["x86v soft"][:4], figures["qemu tcg"][:4])]
        print(f"  {'x86v/qemu':<12} " + " ".join(f"{c:>13.2f}" for c in r))
    if not qemu:
        print(f"  qemu tcg: {no_qemu}")
    print("  (CPU/wall: the VMM process's CPU time over the run's wall time, all threads; 1.0 = one core busy)")


# Firecracker's CI baseline for a full snapshot of a 2-vCPU, 512 MiB microVM on
# x86_64 (tests/integration_tests/performance/test_snapshot_perf.py, 2020).
FIRECRACKER_CREATE_512M_MS = 280


def snapshot_bench(x86v, runs):
    """Snapshot creation and restore of a 512 MiB Linux guest mid-workload."""
    import re
    sys.path.insert(0, os.path.join(SRC, "tests", "snapshot"))
    import linux_driver
    import snapshot_driver
    if guest_images("snapshot") is None:
        return
    with tempfile.TemporaryDirectory(prefix="x86v-bench-snap-", dir="/dev/shm") as tmp:
        argv = linux_driver.guest_command([x86v, "run", "--accel", "soft"], "cloud", "tests/linux/snapshot.sh",
                                          "", tmp)
        snap = os.path.join(tmp, "snap")
        rc, _, err = snapshot_driver.run_until(argv + ["--snapshot-on-exit", snap], "step 5 ")
        m = re.search(r"snapshot written to \S+ in ([0-9.]+) ms", err)
        if rc != 0 or not m:
            print(f"\nsnapshot: failed (status {rc}): {err.strip()[-200:]}")
            return
        create_ms = float(m.group(1))
        mem = [f for f in os.listdir(tmp) if f.startswith("snap.mem-")][0]
        used = os.stat(os.path.join(tmp, mem)).st_blocks * 512 / 2**20
        ready, first = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            p = subprocess.Popen(argv + ["--restore", snap, "--verbose"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for line in iter(p.stdout.readline, b""):
                if line.startswith(b"step "):
                    first.append((time.perf_counter() - t0) * 1000)
                    break
            p.kill()
            _, err = p.communicate()
            m = re.search(r"the guest runs ([0-9.]+) ms after", err.decode(errors="replace"))
            if m:
                ready.append(float(m.group(1)))
    print(f"\nsnapshot: Debian's kernel, 512 MiB, mid-workload, files on tmpfs (soft engine)")
    print(f"  memory file: {used:.0f} MiB on disk of 512 MiB (sparse)")
    print(f"  {'':<44} {'ms':>8} {'Firecracker':>12} {'x86v / FC':>10}")
    print(f"  {'create (pause, write, sync)':<44} {create_ms:>8.1f} {FIRECRACKER_CREATE_512M_MS:>12} "
          f"{create_ms / FIRECRACKER_CREATE_512M_MS:>10.2f}")
    if ready:
        print(f"  {'restore: machine set-up to guest running':<44} {statistics.median(ready):>8.1f} "
              f"{'(goal 5)':>12}")
    if first:
        print(f"  {'restore: exec to the next guest output line':<44} {statistics.median(first):>8.1f}")


# Firecracker's SPECIFICATION.md: at most 125 ms from the InstanceStart API
# call to the start of the guest's user space (/sbin/init).
FIRECRACKER_START_TO_INIT_MS = 125


def api_request(sock_path, method, path, body):
    """One HTTP request over the API's Unix socket; the status code."""
    data = json.dumps(body).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def api_bench(x86v, runs):
    """The control API: process start to InstanceStart answered, and to the guest's first /init line."""
    images = guest_images("api")
    if images is None:
        return
    kernel, initrd = images
    answered, first = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="x86v-bench-api-") as tmp:
            sock = os.path.join(tmp, "api.sock")
            t0 = time.perf_counter()
            p = subprocess.Popen([x86v, "--api-sock", sock, "--accel", "soft"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            while not os.path.exists(sock):
                time.sleep(0.001)
            ok = api_request(sock, "PUT", "/boot-source", {"kernel_image_path": kernel, "initrd_path": initrd,
                                                           "boot_args": "console=ttyS0 quiet panic=-1"}) == 204
            ok &= api_request(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256}) == 204
            t_start = time.perf_counter()
            ok &= api_request(sock, "PUT", "/actions", {"action_type": "InstanceStart"}) == 204
            answered.append((time.perf_counter() - t0) * 1000)
            for line in iter(p.stdout.readline, b""):
                if line.strip():  # quiet: the first line is /init's
                    first.append((time.perf_counter() - t_start) * 1000)
                    break
            p.kill()
            p.wait()
            if not ok:
                print("\napi: a request failed")
                return
    print("\napi: Debian's kernel + initramfs through the control API (soft engine, median of %d)" % runs)
    print(f"  {'':<44} {'ms':>8} {'Firecracker':>12} {'x86v / FC':>10}")
    print(f"  {'process start to InstanceStart answered':<44} {statistics.median(answered):>8.1f}")
    med = statistics.median(first)
    print(f"  {'InstanceStart to the guest /init first line':<44} {med:>8.1f} {FIRECRACKER_START_TO_INIT_MS:>12} "
          f"{med / FIRECRACKER_START_TO_INIT_MS:>10.2f}  (Firecracker: KVM; here the soft engine)")


def smp_bench(x86v, qemu, no_qemu, build):
    """Two CPU-bound guest loops on one vCPU and on two: the parallel speed-up."""
    images = guest_images("smp")
    if not images:
        return
    kernel, initrd = images
    prog = os.path.join(build, "smp-counter")
    subprocess.run(["cc", "-O2", "-static", "-pthread", "-o", prog,
                    os.path.join(SRC, "tests", "linux", "smp_counter.c")], check=True)
    with open(prog, "rb") as f:
        files = [("smp-counter", f.read(), 0o100755)]
    combined = bench_initrd(initrd, os.path.join(build, "bench-initrd-smp"), "linux-smp.sh", files)
    append = "console=ttyS0 quiet loglevel=0 panic=-1"

    def spin_ms(cmd):
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=900)
        for line in p.stdout.decode(errors="replace").splitlines():
            if line.startswith("bench: spin "):
                return float(line.split()[2]), None
        return None, f"exit status {p.returncode}: {p.stderr.decode(errors='replace').strip()[-120:]}"

    rows = []
    for name in ("x86v soft", "qemu tcg"):
        times, why = [], None
        for n in (1, 2):
            if name == "x86v soft":
                cmd = [x86v, "run", "--accel", "soft", "--smp", str(n), "-m", "512M", "--kernel", kernel,
                       "--initrd", combined, "--append", append, "--no-reboot"]
            elif qemu:
                cmd = [qemu] + QEMU_DEV + ["-accel", "tcg,thread=multi", "-smp", str(n), "-m", "512M",
                                           "-kernel", kernel, "-initrd", combined, "-append", append]
            else:
                why = no_qemu
                break
            t, why = spin_ms(cmd)
            if t is None:
                break
            times.append(t)
        rows.append((name, times, why))
    print("\nsmp: two independent CPU-bound loops in the Linux guest, timed inside it (ms); speed-up = one vCPU / two")
    print(f"  {'':<12} {'--smp 1':>10} {'--smp 2':>10} {'speed-up':>10}")
    speedups = {}
    for name, times, why in rows:
        if len(times) < 2:
            print(f"  {name:<12} {'-':>10} {'-':>10} {'-':>10}  ({why})")
            continue
        speedups[name] = times[0] / times[1]
        print(f"  {name:<12} {times[0]:>10.0f} {times[1]:>10.0f} {speedups[name]:>10.2f}")
    if len(speedups) == 2:
        print(f"  {'x86v/qemu':<12} {'':>10} {'':>10} {speedups['x86v soft'] / speedups['qemu tcg']:>10.2f}")


if __name__ == "__main__":
    main()
