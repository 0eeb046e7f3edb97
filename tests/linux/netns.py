# SPDX-License-Identifier: MIT
"""Network namespaces for the guest-test drivers: a test that gives its guest
a network runs inside a namespace of its own whose only network is its
loopback, so that nothing the guest does reaches another machine."""
import fcntl
import os
import socket
import struct
import subprocess
import sys


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
