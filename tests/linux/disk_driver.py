#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for disks: prepares images on the host, boots the Linux
guest (as linux_driver.py does) and checks the images afterwards.

  disk_driver.py --script FILE [--append TEXT] [--ext4] [--nbd-qcow2 SIZE]
                 [--kill-on TEXT] -- X86V-COMMAND...

--ext4       makes a 64 MiB ext4 image (mkfs.ext4 -d) holding
             hello.txt, data.bin (3 MiB) and their SHA256SUMS, and replaces
             {ext4} in the command with its path. Afterwards the image must
             pass `e2fsck -fn` and hold /written.txt, the output of
             `seq 1 100000` (what tests/linux/virtio-ext4.sh writes).
--nbd-qcow2  serves a fresh qcow2 image of SIZE bytes with qemu-nbd on a Unix
             socket, replaces {nbd} with its NBD URI, and afterwards checks
             that the image holds, at 1 MiB, what tests/linux/virtio-blk.sh
             writes there (the output of `seq 1 200000`).
--kill-on    kills x86v with SIGKILL as soon as TEXT appears in its output
             (the guest has synced its writes): the checks above must still
             pass, after the journal replay a next mount would do.
Exits with x86v's status (0 when it was killed as asked), 1 when a check on
the host fails, 77 with "SKIP: why" when the guest images or the host tools
are missing.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_driver import guest_command  # noqa: E402

EXT4_SIZE = 64 << 20


def make_ext4(tmp):
    tree = os.path.join(tmp, "tree")
    os.mkdir(tree)
    with open(os.path.join(tree, "hello.txt"), "w") as f:
        f.write("hello from the host\n")
    with open(os.path.join(tree, "data.bin"), "wb") as f:
        f.write(bytes((i * 7 + i // 4096) & 0xff for i in range(3 << 20)))
    sums = subprocess.run(["sha256sum", "hello.txt", "data.bin"], cwd=tree, check=True, capture_output=True).stdout
    with open(os.path.join(tree, "SHA256SUMS"), "wb") as f:
        f.write(sums)
    image = os.path.join(tmp, "ext4.img")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "x86v", "-d", tree, image, str(EXT4_SIZE // 1024)], check=True,
                   capture_output=True)
    return image


def check_ext4(image, killed):
    if killed:
        # What the next mount would do: replay the journal (0 or 1: nothing or something replayed).
        rc = subprocess.run(["e2fsck", "-fy", image], capture_output=True).returncode
        if rc not in (0, 1):
            print(f"ext4: the journal replay failed ({rc})")
            return False
    fsck = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    if fsck.returncode != 0:
        print("ext4: e2fsck -fn: " + " / ".join(fsck.stdout.strip().splitlines()[-3:]))
        return False
    got = subprocess.run(["debugfs", "-R", "cat /written.txt", image], capture_output=True).stdout
    if got != "".join(f"{i}\n" for i in range(1, 100001)).encode():
        print(f"ext4: /written.txt on the host holds {len(got)} bytes, not what the guest wrote")
        return False
    return True


def check_nbd(image, tmp):
    raw = os.path.join(tmp, "nbd.raw")
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", image, raw], check=True)
    want = "".join(f"{i}\n" for i in range(1, 200001)).encode()
    with open(raw, "rb") as f:
        f.seek(1 << 20)
        if f.read(len(want)) != want:
            print("nbd: the qcow2 image does not hold what the guest wrote")
            return False
    return True


def run(argv, kill_on):
    """x86v's status, its output passed through; (0, True) when killed at kill_on."""
    if not kill_on:
        return subprocess.run(argv, stdin=subprocess.DEVNULL).returncode, False
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    marker = kill_on.encode()
    for line in p.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        if marker in line:
            p.send_signal(signal.SIGKILL)
            p.wait()
            return 0, True
    return p.wait(), False


def main():
    if "--" not in sys.argv:
        sys.exit("disk_driver.py: expected -- X86V-COMMAND")
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--append", default="")
    ap.add_argument("--ext4", action="store_true")
    ap.add_argument("--nbd-qcow2", type=int, default=0)
    ap.add_argument("--kill-on")
    opts = ap.parse_args(sys.argv[1:split])
    tools = (["mkfs.ext4", "e2fsck", "debugfs"] if opts.ext4 else []) + \
        (["qemu-nbd", "qemu-img"] if opts.nbd_qcow2 else [])
    for tool in tools:
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (Debian e2fsprogs, qemu-utils)")
            return 77

    with tempfile.TemporaryDirectory(prefix="x86v-disk-") as tmp:
        argv = guest_command(sys.argv[split + 1:], "cloud", opts.script, opts.append, tmp)
        if argv is None:
            return 77
        ext4 = make_ext4(tmp) if opts.ext4 else None
        nbd, qcow2 = None, None
        if opts.nbd_qcow2:
            qcow2, sock = os.path.join(tmp, "nbd.qcow2"), os.path.join(tmp, "nbd.sock")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow2, str(opts.nbd_qcow2)], check=True)
            nbd = subprocess.Popen(["qemu-nbd", "--socket", sock, "--format", "qcow2", "--export-name", "disk",
                                    "--persistent", qcow2])
            for _ in range(200):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
        argv = [a.replace("{ext4}", ext4 or "").replace("{nbd}", f"nbd+unix:///disk?socket={sock}" if nbd else "")
                for a in argv]
        try:
            rc, killed = run(argv, opts.kill_on)
        finally:
            if nbd:
                nbd.terminate()
                nbd.wait()
        if rc != 0 or (opts.kill_on and not killed):
            return rc or 1
        if ext4 and not check_ext4(ext4, killed):
            return 1
        if qcow2 and not check_nbd(qcow2, tmp):
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
