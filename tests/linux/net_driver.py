#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for networking: runs the Linux guest (as linux_driver.py
does) inside a network namespace of its own, where the only network is the
namespace's loopback, so that nothing the guest does reaches another machine.

  net_driver.py --script FILE [--append TEXT] -- X86V-COMMAND...

In the namespace: an HTTP server on 127.0.0.1:8000 serves /blob (random
bytes; the guest gets x86v.http=10.0.2.2:8000 and x86v.blobsha=SHA256), and
once the guest prints "net: listening" the driver connects to 127.0.0.1:2222
(the test's hostfwd), sends "ping TOKEN" and expects "pong ping TOKEN".
Exits with x86v's status (1 when the host's side failed), 77 with "SKIP: why"
when the guest images are not built or no network namespace can be made.
"""
import argparse
import fcntl
import hashlib
import http.server
import os
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_driver import guest_command  # noqa: E402

HTTP_PORT = 8000
FWD_PORT = 2222
MAC = "52:54:00:12:34:56"


def enter_namespace():
    """Re-runs this driver in new network (and, when not root, user) namespaces."""
    if os.environ.get("X86V_NETNS") == "1":
        return None
    env = dict(os.environ, X86V_NETNS="1")
    for flags in (["-n"], ["-r", "-n"]):
        probe = subprocess.run(["unshare"] + flags + ["true"], capture_output=True)
        if probe.returncode == 0:
            return subprocess.call(["unshare"] + flags + [sys.executable] + sys.argv, env=env)
    print("SKIP: cannot create a network namespace (unshare -n) to keep the guest off the network")
    return 77


def loopback_up():
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, ifr)[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def serve_blob(blob):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/blob":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ping_guest(result):
    """Through the hostfwd: retried while the guest's listener is not up yet."""
    token = secrets.token_hex(8)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", FWD_PORT), timeout=30) as c:
                c.sendall(b"ping %s\n" % token.encode())
                reply = b""
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            if reply.strip() == b"pong ping " + token.encode():
                result.append("ok")
                return
            if reply:
                result.append("host: hostfwd reply %r" % reply)
                return
        except OSError:
            pass
        time.sleep(0.5)
    result.append("host: no reply through the hostfwd")


def main():
    if "--" not in sys.argv:
        sys.exit("net_driver.py: expected -- X86V-COMMAND")
    status = enter_namespace()
    if status is not None:
        return status
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--append", default="")
    opts = ap.parse_args(sys.argv[1:split])
    loopback_up()
    blob = os.urandom(256 * 1024)
    server = serve_blob(blob)
    append = "x86v.http=10.0.2.2:%d x86v.blobsha=%s x86v.mac=%s %s" % (
        HTTP_PORT, hashlib.sha256(blob).hexdigest(), MAC, opts.append)
    result = []
    with tempfile.TemporaryDirectory(prefix="x86v-net-") as tmp:
        argv = guest_command(sys.argv[split + 1:], "cloud", opts.script, append.strip(), tmp)
        if argv is None:
            return 77
        p = subprocess.Popen(argv, stdout=subprocess.PIPE)
        pinger = None
        for line in p.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
            if b"net: listening" in line and not pinger:
                pinger = threading.Thread(target=ping_guest, args=(result,), daemon=True)
                pinger.start()
        status = p.wait()
        if pinger:
            pinger.join(timeout=5)
    server.shutdown()
    if result != ["ok"]:
        print(result[0] if result else "host: the guest never listened")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
