#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Malformed GDB remote-protocol input never crashes x86v (a guest test's `driver:`).

usage: rsp_fuzz.py -- X86V ARGS...

Starts X86V ARGS --gdb tcp:127.0.0.1:0 -S and, over a raw socket, sends garbage,
truncated and oversized packets, bad checksums, bad hex, out-of-range numbers,
bad escapes, NUL bytes, a second connection, and a few thousand random packets
with valid checksums (seeded, so every run is the same). Then it checks the
stub still answers '?' properly and hangs up mid-packet; x86v runs the guest to its end.
Exits with x86v's status (the spec checks it); 1 if the stub stopped answering.
"""

import random
import re
import socket
import subprocess
import sys
import tempfile
import time


def frame(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + b"%02x" % (sum(payload) % 256)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(0.5)
    return s


def drain(s, wait=0.05):
    data = b""
    end = time.time() + wait
    s.settimeout(wait)
    while time.time() < end:
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            break
        except OSError:
            break
    return data


def ask(s, payload: bytes, timeout=5.0) -> bytes:
    """Sends one packet and returns the payload of the first reply packet."""
    s.settimeout(0.5)
    s.sendall(frame(payload))
    buf = b""
    end = time.time() + timeout
    while time.time() < end:
        m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", buf)
        if m:
            return m.group(1)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
    raise RuntimeError(f"no reply to {payload[:40]!r}")


MALFORMED = [
    b"garbage without framing",
    b"$g#",  # truncated checksum
    b"$g#00",  # bad checksum
    b"$g#zz",  # non-hex checksum
    b"$" + b"A" * 20000 + b"#00",  # oversized
    b"$$$$$$#00",
    b"#####",
    b"\x00\x01\x02\xff\xfe",
    b"-" * 100,
    b"+" * 100,
    b"\x03",  # Ctrl-C while stopped
]
BAD_PACKETS = [
    b"m", b"m0", b"m0,", b"m,4", b"mzz,4", b"m0,ffffffffffffffff", b"m11111111111111111111,4",
    b"mffffffffffff0000,100", b"M0,4:zz", b"M0,4:0011", b"M0,ffffffff:00", b"M0,1:001122",
    b"X0,4:", b"X0,1:}", b"X0,ffffffffffff:abc", b"Xffffffffffffffff,1:a", b"X",
    b"Z9,0,1", b"Z2,1001,4", b"Z2,1000,3", b"Z1", b"Z0,,", b"z4,0,8", b"Z2,ffffffffffffffff,8",
    b"Pffff=00", b"P0=0", b"P0=zzzzzzzz", b"P", b"p", b"pzz", b"p1000", b"p0;",
    b"G", b"G00", b"Gzz", b"g extra",
    b"qXfer:features:read:target.xml:ffffffffffff,10", b"qXfer:features:read:other.xml:0,10",
    b"qXfer:features:read:target.xml", b"qXfer:features:read:target.xml:0,ffffffffffffffff",
    b"qRcmd,", b"qRcmd,7", b"qRcmd,zz", b"qRcmd," + b"61" * 300, b"qRcmd," + b"787020" + b"ff" * 40,
    b"qRcmd,78702066666666666666666666662031303030",  # "xp fffffffffffff 1000"
    b"qSupported:" + b"x" * 3000, b"vCont;x", b"vCont", b"vContzz", b"H", b"T", b"Q", b"q",
    b"", b"\x00", b"m0\x00,4", b"?extra",
]


def start_stub(argv):
    """Starts x86v ARGV with a GDB stub on a free loopback port, stopped at its
    first instruction; returns (process, its stderr file, port or None)."""
    err = tempfile.TemporaryFile(mode="w+")
    vm = subprocess.Popen(argv + ["--gdb", "tcp:127.0.0.1:0", "-S"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=err, text=True)
    port = None
    for _ in range(400):
        err.seek(0)
        m = re.search(r"listening on [0-9.]+:(\d+)", err.read())
        if m:
            port = int(m.group(1))
            break
        if vm.poll() is not None:
            break
        time.sleep(0.05)
    return vm, err, port


def fail(vm, err, message):
    """Kills x86v and reports message with its stderr; the driver's status 1."""
    vm.kill()
    vm.wait()
    err.seek(0)
    sys.stderr.write(f"{message}\nx86v stderr:\n{err.read()}")
    return 1


def finish(vm, err):
    """Waits for x86v's end (the guest runs on once the debugger is gone); its status."""
    try:
        vm.wait(timeout=60)
    except subprocess.TimeoutExpired:
        vm.kill()
        vm.wait()
    if vm.returncode < 0:
        err.seek(0)
        sys.stderr.write(f"x86v died of signal {-vm.returncode}\n{err.read()}")
        return 1
    return vm.returncode


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    vm, err, port = start_stub(argv)
    if port is None:
        vm.kill()
        err.seek(0)
        sys.stderr.write("no GDB stub:\n" + err.read())
        return 1
    rng = random.Random(7)
    try:
        # One connection throughout: its end lets the guest run (as a detach).
        s = connect(port)
        for data in MALFORMED:
            s.sendall(data)
            drain(s)
        extra = connect(port)  # a second debugger is turned away
        extra.sendall(frame(b"?"))
        drain(extra)
        extra.close()
        for p in BAD_PACKETS:
            s.sendall(frame(p))
        drain(s, 0.5)
        for _ in range(70):  # more breakpoints than the stub holds
            s.sendall(frame(b"Z0,%x,1" % rng.randrange(1 << 32)))
        drain(s, 0.3)
        alphabet = b"0123456789abcdefmMXpPgGzZqQH,:;=?}#$*x\x00\xff"
        for _ in range(3000):
            # Nothing that writes registers or memory: the guest must still pass.
            first = rng.choice(b"mpgzZqQH?T")
            body = bytes([first]) + bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
            if rng.random() < 0.1:
                s.sendall(body)  # unframed
            elif rng.random() < 0.1:
                s.sendall(b"$" + body + b"#" + bytes(rng.choice(alphabet) for _ in range(2)))
            else:
                s.sendall(frame(body.replace(b"#", b"").replace(b"$", b"")))
            if rng.random() < 0.05:
                drain(s, 0.01)
        drain(s, 0.5)
        # Still alive and sane?
        reply = ask(s, b"?")
        if not reply.startswith(b"T05"):
            raise RuntimeError(f"'?' answered {reply!r}")
        for bp in range(64):
            ask(s, b"z0,%x,1" % bp)
        # Hang up in the middle of a packet: the guest runs on to its end.
        s.sendall(b"$m0,4")
        s.close()
    except (RuntimeError, OSError) as e:
        return fail(vm, err, f"the stub stopped answering: {e}")
    return finish(vm, err)

if __name__ == "__main__":
    sys.exit(main())
