#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest-test driver for networking: runs the Linux guest (as linux_driver.py
does) inside a network namespace of its own, where the only network is the
namespace's loopback, so that nothing the guest does reaches another machine.

  net_driver.py --script FILE [--tap IFNAME] [--append TEXT] -- X86V-COMMAND...

In the namespace: an HTTP server on port 8000 serves /blob (random bytes;
the guest gets x86v.http=HOST:8000 and x86v.blobsha=SHA256), and once the
guest prints "net: listening" the driver connects to it, sends "ping TOKEN"
and expects "pong ping TOKEN". --http-unix PATH serves /blob on a Unix
socket too, for the test's guestfwd=tcp:10.0.2.100:80-unix:PATH (the guest
gets x86v.fwd=10.0.2.100:80). User-mode networking: HOST is 10.0.2.2 and
the driver connects to 127.0.0.1:2222 (the test's hostfwd to port 8080).
--tap: the driver first makes IFNAME, a persistent TAP interface with the
address 192.168.77.1/24 (x86v attaches to it), HOST is that address, the
guest gets x86v.addr=192.168.77.2/24 and the driver connects to its 8080.
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
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_driver import guest_command  # noqa: E402
from netns import enter_namespace, loopback_up  # noqa: E402

HTTP_PORT = 8000
FWD = ("127.0.0.1", 2222)
TAP_HOST, TAP_GUEST = "192.168.77.1", "192.168.77.2"
MAC = "52:54:00:12:34:56"


def make_tap(name):
    """A persistent TAP interface, up, with TAP_HOST/24 (the namespace deletes it)."""
    TUNSETIFF, TUNSETPERSIST, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x400454CB, 0x0002, 0x1000
    fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
    finally:
        os.close(fd)
    subprocess.run(["ip", "addr", "add", TAP_HOST + "/24", "dev", name], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve_blob(blob, unix_path=None):
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

    if unix_path:
        server = UnixHTTPServer(unix_path, Handler)
    else:
        server = http.server.ThreadingHTTPServer(("0.0.0.0", HTTP_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ping_guest(target, result):
    """Retried while the guest's listener is not up yet."""
    token = secrets.token_hex(8)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(target, timeout=30) as c:
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
    result.append("host: no reply from %s:%d" % target)


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
    ap.add_argument("--tap")
    ap.add_argument("--http-unix", help="also serve /blob on this Unix socket (for a guestfwd)")
    opts = ap.parse_args(sys.argv[1:split])
    loopback_up()
    host, target, extra = "10.0.2.2", FWD, ""
    if opts.tap:
        if not os.path.exists("/dev/net/tun"):
            print("SKIP: no /dev/net/tun")
            return 77
        try:
            make_tap(opts.tap)
        except (OSError, subprocess.CalledProcessError) as e:
            print("SKIP: cannot make a TAP interface here: %s" % e)
            return 77
        host, target, extra = TAP_HOST, (TAP_GUEST, 8080), "x86v.addr=%s/24" % TAP_GUEST
    blob = os.urandom(256 * 1024)
    servers = [serve_blob(blob)]
    if opts.http_unix:
        servers.append(serve_blob(blob, opts.http_unix))
        extra += " x86v.fwd=10.0.2.100:80"
    append = "x86v.http=%s:%d x86v.blobsha=%s x86v.mac=%s %s %s" % (
        host, HTTP_PORT, hashlib.sha256(blob).hexdigest(), MAC, extra, opts.append)
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
                pinger = threading.Thread(target=ping_guest, args=(target, result), daemon=True)
                pinger.start()
        status = p.wait()
        if pinger:
            pinger.join(timeout=5)
    for server in servers:
        server.shutdown()
    if result != ["ok"]:
        print(result[0] if result else "host: the guest never listened")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
