#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for the Debian system on a disk (scripts/mkrootfs): boots
it from a copy of its image with root=/dev/vda and user-mode networking,
waits for the login prompt on the serial console, then logs in over ssh
through a hostfwd, checks that systemd reached multi-user.target and that
DHCP configured the network, and powers the guest off from there.

  debian_driver.py [--images DIR] -- X86V-COMMAND...

Runs in a network namespace of its own (tests/linux/netns.py). The guest's
console goes to a log file (printed when something fails); stdout has one
line per step. Exits 0 when every step passed and x86v ended with status 0
(the power-off), 1 otherwise, 77 with "SKIP: why" when the image is not
built or no network namespace can be made.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import enter_namespace, loopback_up  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSH_PORT = 2222
BOOT_TIMEOUT = 600  # seconds of the whole run; the guest's own --timeout


def ssh(key, command, timeout=120):
    argv = ["ssh", "-i", key, "-p", str(SSH_PORT), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
            "-o", "BatchMode=yes", "root@127.0.0.1", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def check_guest(key, say):
    """The steps over ssh; True when all passed."""
    r = None
    for _ in range(10):  # sshd may still be starting
        r = ssh(key, "systemctl is-system-running --wait; systemctl is-active multi-user.target")
        if r.returncode != 255:
            break
        time.sleep(3)
    lines = r.stdout.split()
    if r.returncode == 255 or not lines:
        say("ssh failed: " + r.stderr.strip())
        return False
    # "running", or "degraded" when some unit failed: the target is what matters.
    if lines[-1] != "active":
        say("multi-user.target is %s (system %s)" % (lines[-1], lines[0]))
        failed = ssh(key, "systemctl --failed --no-legend")
        say("failed units: " + failed.stdout.strip().replace("\n", "; "))
        return False
    say("ssh login, multi-user.target active")
    r = ssh(key, "ip -4 -o addr show scope global")
    if "inet 10.0.2.15/24" not in r.stdout:
        say("no DHCP address: " + r.stdout.strip())
        return False
    say("DHCP address 10.0.2.15/24")
    # The session may outlive the guest's shutdown on a loaded host: x86v's
    # status 0 afterwards is what shows the power-off.
    try:
        ssh(key, "systemctl poweroff", timeout=30)
    except subprocess.TimeoutExpired:
        say("ssh: the poweroff session did not end within 30 s")
    return True


def main():
    if "--" not in sys.argv:
        sys.exit("debian_driver.py: expected -- X86V-COMMAND")
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default=os.path.join(SRC, "guest-images", "rootfs"))
    opts = ap.parse_args(sys.argv[1:split])
    images = opts.images
    need = [os.path.join(images, f) for f in ("disk.img", "vmlinuz", "initrd.img", "id_ed25519")]
    if not all(os.path.exists(f) for f in need):
        print(f"SKIP: the Debian image is not built ({images}: run scripts/mkrootfs, or make check-debian)")
        return 77
    if not shutil.which("ssh"):
        print("SKIP: no ssh client (scripts/bootstrap installs openssh-client)")
        return 77
    status = enter_namespace()
    if status is not None:
        return status
    loopback_up()

    with tempfile.TemporaryDirectory(prefix="x86v-debian-") as tmp:
        disk = os.path.join(tmp, "disk.img")
        subprocess.run(["cp", "--sparse=always", need[0], disk], check=True)
        key = os.path.join(tmp, "id")
        shutil.copyfile(need[3], key)
        os.chmod(key, 0o600)
        argv = sys.argv[split + 1:] + [
            "--kernel", need[1], "--initrd", need[2],
            "--append", "root=/dev/vda rw console=ttyS0 panic=-1",
            "--drive", "file=" + disk, "--net", "user,hostfwd=tcp:127.0.0.1:%d-:22" % SSH_PORT,
            "--no-reboot", "--timeout", str(BOOT_TIMEOUT)]
        log_path = os.path.join(tmp, "console.log")
        ok = []

        def say(text):
            print("debian: " + text, flush=True)

        with open(log_path, "wb") as log:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
            checker = None
            seen = b""
            while True:
                chunk = os.read(p.stdout.fileno(), 65536)  # the prompt ends no line: no readline
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                seen = (seen + chunk)[-64:]
                if b"login: " in seen and not checker:
                    say("login prompt on ttyS0")
                    checker = threading.Thread(target=lambda: ok.append(check_guest(key, say)), daemon=True)
                    checker.start()
            status = p.wait()
            if checker:
                checker.join(timeout=60)
        if status == 0:
            say("powered off")
        if ok != [True] or status != 0:
            print("x86v status %d; the console said:" % status)
            with open(log_path, "rb") as f:
                sys.stdout.write(f.read().decode(errors="replace")[-6000:])
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
