#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver: the control API, the way Firecracker's getting-started
guide drives Firecracker, with curl --unix-socket.

  api_driver.py -- X86V-COMMAND...

1. x86v --api-sock S: the socket is owner-only; GET / says "Not started";
   bad requests get 400 and a fault_message (malformed JSON, an unknown
   field, an unknown path, malformed HTTP (the server answers 4xx or
   closes, and goes on serving), PATCH /vm before the start, a snapshot
   load after configuring); then PUT /boot-source (Debian's kernel and an
   initramfs whose workload is tests/linux/api.sh), PUT /machine-config (two vCPUs),
   PUT /drives/data (a raw image the guest reads), PUT /actions InstanceStart.
2. Once the guest prints step 8: PATCH /vm Paused (GET / says "Paused"), a
   snapshot create (refused while running, done while paused), then the
   process is killed (SIGKILL).
3. A new x86v --api-sock: PUT /snapshot/load with resume_vm; the workload
   finishes. Prints the guest's drive and workload lines of both runs (the
   test's .out is one uninterrupted run) and exits with the second run's status.
Exits 77 with "SKIP: why" without guest images or curl.
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "linux"))
import linux_driver  # noqa: E402

failures = []


def curl(sock, method, path, body=None):
    cmd = ["curl", "-s", "--unix-socket", sock, "-X", method, "-w", "\n%{http_code}",
           "-H", "Accept: application/json", f"http://localhost{path}"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", body if isinstance(body, str) else json.dumps(body)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    text, _, code = out.rpartition("\n")
    return int(code or 0), text


def expect(sock, method, path, body, status, contains=""):
    code, text = curl(sock, method, path, body)
    if code != status or contains not in text or (status == 400 and "fault_message" not in text):
        failures.append(f"{method} {path}: {code} {text!r}, expected {status} with {contains!r}")
    return text


def raw(sock, data):
    """Sends data as it is (malformed HTTP); what comes back before the close."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        try:
            while chunk := s.recv(4096):
                reply += chunk
        except OSError:
            pass
    return reply


def wait_socket(path, proc):
    for _ in range(200):
        if os.path.exists(path) or proc.poll() is not None:
            return
        time.sleep(0.05)


def keep(lines):
    return [l.strip() for l in lines if l.strip().startswith(("drive:", "workload:", "step "))]


def main():
    argv = sys.argv[sys.argv.index("--") + 1:]
    x86v = argv[0]
    accel = argv[argv.index("--accel") + 1] if "--accel" in argv else "soft"
    if not shutil.which("curl"):
        print("SKIP: curl is not installed")
        return 77
    images = os.path.join(SRC, "guest-images", "cloud")
    if not os.path.exists(os.path.join(images, "bzImage")):
        print(f"SKIP: guest images not built ({images}: run scripts/mkguest)")
        return 77
    with tempfile.TemporaryDirectory(prefix="x86v-api-") as tmp:
        initrd = os.path.join(tmp, "initrd")
        with open(os.path.join(images, "initramfs.cpio.gz"), "rb") as f:
            base = f.read()
        with open(os.path.join(SRC, "tests", "linux", "api.sh"), "rb") as f:
            script = f.read()
        with open(initrd, "wb") as f:
            f.write(base + b"\0" * (-len(base) % 4) + linux_driver.newc_script(script))
        disk = os.path.join(tmp, "data.img")
        with open(disk, "wb") as f:
            f.write(b"hello from api" + bytes(1024 * 1024 - 14))
        sock = os.path.join(tmp, "api.sock")
        one = subprocess.Popen([x86v, "--api-sock", sock, "--accel", accel], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_socket(sock, one)
        if not os.path.exists(sock):
            print(f"x86v did not create {sock}: {one.stderr.read().decode()}")
            return 1
        if stat.S_IMODE(os.stat(sock).st_mode) != 0o600:
            failures.append(f"the socket's mode is {oct(os.stat(sock).st_mode)}, not owner-only")
        expect(sock, "GET", "/", None, 200, '"state":"Not started"')
        expect(sock, "PUT", "/boot-source", "{not json", 400, "not valid JSON")
        expect(sock, "PUT", "/boot-source", {"kernel_image_path": "k", "colour": 1}, 400, "unknown field `colour`")
        expect(sock, "PUT", "/nowhere", {}, 400, "Invalid request method and/or path")
        for junk in (b"GARBAGE\r\n\r\n", b"PUT /actions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100000,
                     b"\x00\xff" * 64):
            reply = raw(sock, junk)
            if reply and not reply.startswith(b"HTTP/1.1 4"):
                failures.append(f"malformed HTTP {junk[:20]!r}: {reply[:60]!r}")
        expect(sock, "GET", "/", None, 200, '"state":"Not started"')
        expect(sock, "PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 256}, 400, "vcpu_count 0")
        expect(sock, "PATCH", "/vm", {"state": "Paused"}, 400, "not running")
        expect(sock, "PUT", "/drives/data", {"drive_id": "other", "path_on_host": disk, "is_root_device": False},
               400, "does not match")
        expect(sock, "PUT", "/boot-source", {"kernel_image_path": os.path.join(images, "bzImage"),
                                             "initrd_path": initrd,
                                             "boot_args": linux_driver.BASE_APPEND + " reboot=k"}, 204)
        expect(sock, "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}, 204)
        expect(sock, "PUT", "/drives/data", {"drive_id": "data", "path_on_host": disk, "is_root_device": False,
                                             "is_read_only": True}, 204)
        expect(sock, "GET", "/vm/config", None, 200, '"drive_id":"data"')
        expect(sock, "PUT", "/actions", {"action_type": "InstanceStart"}, 204)
        expect(sock, "GET", "/", None, 200, '"state":"Running"')
        expect(sock, "PUT", "/snapshot/load", {"snapshot_path": "s", "mem_file_path": "m"}, 400, "not allowed")
        first = []
        for line in iter(one.stdout.readline, b""):
            first.append(line.decode(errors="replace"))
            if line.startswith(b"step 8 "):
                break
        snap, mem = os.path.join(tmp, "snapshot_file"), os.path.join(tmp, "mem_file")
        expect(sock, "PUT", "/snapshot/create", {"snapshot_path": snap, "mem_file_path": mem}, 400, "paused")
        expect(sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        expect(sock, "GET", "/", None, 200, '"state":"Paused"')
        expect(sock, "PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": snap,
                                                 "mem_file_path": mem}, 204)
        one.send_signal(signal.SIGKILL)
        rest, _ = one.communicate()
        first += rest.decode(errors="replace").splitlines(keepends=True)
        os.unlink(sock)

        two = subprocess.Popen([x86v, "--api-sock", sock, "--accel", accel], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_socket(sock, two)
        expect(sock, "PUT", "/snapshot/load", {"snapshot_path": snap, "mem_file_path": disk}, 400,
               "another snapshot")
        expect(sock, "PUT", "/snapshot/load", {"snapshot_path": snap, "mem_backend": {
            "backend_type": "File", "backend_path": mem}, "resume_vm": True}, 204)
        try:
            out, err = two.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            two.kill()
            out, err = two.communicate()
        lines = keep(first) + keep(out.decode(errors="replace").splitlines())
        print("\n".join(lines))
        for f in failures:
            print("FAILED: " + f)
        sys.stderr.write(err.decode(errors="replace"))
        return 1 if failures else two.returncode


if __name__ == "__main__":
    sys.exit(main())
