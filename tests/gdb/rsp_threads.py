#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The GDB stub's thread packets, raw, against a two-vCPU guest (a guest test's `driver:`).

usage: rsp_threads.py --elf guests/gdb-smp.elf -- X86V ARGS...   (ARGS: --smp 2 --kernel that ELF)

Starts X86V ARGS --gdb tcp:127.0.0.1:0 -S and checks, over a raw socket:
qfThreadInfo/qsThreadInfo, qC, T, qThreadExtraInfo, Hg (registers per thread),
Hc with s, vCont with thread ids (c; s:TID; s:TID;c; bad ones), stop replies
naming the thread, a step of one thread leaving the other stopped, breakpoints
in both vCPUs (every stop names a thread that is at its breakpoint, and both
threads get reported), Ctrl-C, detach. Exits with x86v's status (the spec
checks it); 1 with a message when a reply is wrong.
"""

import argparse
import re
import socket
import struct
import sys
import time

from rsp_fuzz import ask, connect, fail, finish, frame, start_stub


def elf_symbols(path):
    """name -> value from an ELF32 file's .symtab."""
    data = open(path, "rb").read()
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    sections = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    syms = {}
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 16):
            name, value = struct.unpack_from("<II", data, off)
            end = data.index(b"\0", strtab[4] + name)
            syms[data[strtab[4] + name:end].decode()] = value
    return syms


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def wait_reply(s, timeout=20.0):
    """The payload of the next packet (a stop reply after a resume)."""
    buf = b""
    end = time.time() + timeout
    s.settimeout(0.5)
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
    raise Fail("no stop reply")


def eip(s):
    """EIP of the Hg thread (i386 layout: register 8)."""
    regs = ask(s, b"g")
    return struct.unpack_from("<I", bytes.fromhex(regs[8 * 8:9 * 8].decode()))[0]


def read32(s, addr):
    return struct.unpack("<I", bytes.fromhex(ask(s, b"m%x,4" % addr).decode()))[0]


def stop_thread(reply):
    m = re.match(rb"T([0-9a-f]{2})thread:([0-9a-f]+);", reply)
    check(m, f"stop reply {reply!r} names no thread")
    return int(m.group(1), 16), int(m.group(2), 16)


def session(s, sym):
    ap_loop, start = sym["ap_loop"], sym["_start"]
    bsp_loop = sym["bsp_loop"]
    check(b"vContSupported+" in ask(s, b"qSupported:multiprocess+;swbreak+;hwbreak+"), "qSupported")
    ask(s, b"QStartNoAckMode")
    check(ask(s, b"?") == b"T05thread:01;", "'?' after -S")
    check(ask(s, b"qfThreadInfo") == b"m01,02", "qfThreadInfo")
    check(ask(s, b"qsThreadInfo") == b"l", "qsThreadInfo")
    check(ask(s, b"qC") == b"QC01", "qC")
    for p, want in ((b"T1", b"OK"), (b"T2", b"OK"), (b"T3", b"E22"), (b"T0", b"E22"), (b"Tzz", b"E22")):
        check(ask(s, p) == want, f"{p!r} -> {want!r}")
    check(bytes.fromhex(ask(s, b"qThreadExtraInfo,1").decode()) == b"vCPU 0", "qThreadExtraInfo,1")
    check(bytes.fromhex(ask(s, b"qThreadExtraInfo,2").decode()) == b"vCPU 1, waiting for a start-up IPI",
          "qThreadExtraInfo,2 while the AP waits for its SIPI")
    check(ask(s, b"qThreadExtraInfo,3") == b"E22", "qThreadExtraInfo of no thread")
    for p in (b"Hg3", b"Hx1", b"Hg", b"Hc1x"):
        check(ask(s, p) == b"E22", f"{p!r} refused")
    for p in (b"vCont;c:3", b"vCont;t", b"vCont;s:", b"vCont;c;x", b"vCont;C", b"vCont;c:1x"):
        check(ask(s, p) == b"E22", f"{p!r} refused")

    # Registers per thread: the AP is at its reset vector, the BSP at _start.
    check(ask(s, b"Hg2") == b"OK", "Hg2")
    check(eip(s) == 0xFFF0, "the AP's EIP before its SIPI")
    check(ask(s, b"P0=01000000") == b"E10", "a register write to a vCPU waiting for a SIPI")
    check(ask(s, b"Hg1") == b"OK", "Hg1")
    check(eip(s) == start, "the BSP's EIP at -S")

    # The AP starts and hits a hardware breakpoint: the stop names thread 2.
    check(ask(s, b"Z1,%x,1" % ap_loop) == b"OK", "Z1 ap_loop")
    s.sendall(frame(b"vCont;c"))
    reply = wait_reply(s)
    check(reply == b"T05thread:02;hwbreak:;", f"AP breakpoint: {reply!r}")
    check(ask(s, b"qC") == b"QC02", "qC after the AP's stop")
    check(eip(s) == ap_loop, "Hg follows the stop: the AP's EIP")
    check(bytes.fromhex(ask(s, b"qThreadExtraInfo,2").decode()) == b"vCPU 1", "the AP runs")
    check(ask(s, b"Hg1") == b"OK", "Hg1")
    check(start <= eip(s) < ap_loop, "the BSP's EIP is in its own code")

    # Steps, with the breakpoint out as GDB takes it out to step over it.
    check(ask(s, b"z1,%x,1" % ap_loop) == b"OK", "z1 ap_loop")
    # vCont;s:1 steps the BSP alone; the AP stays where it is.
    count = read32(s, sym["ap_count"])
    s.sendall(frame(b"vCont;s:1"))
    check(wait_reply(s) == b"T05thread:01;", "vCont;s:1")
    check(read32(s, sym["ap_count"]) == count, "the AP ran during a step of the BSP")
    # Hc2 + s steps the AP alone: one increment.
    bsp = read32(s, sym["bsp_count"])
    check(ask(s, b"Hc2") == b"OK", "Hc2")
    s.sendall(frame(b"s"))
    check(wait_reply(s) == b"T05thread:02;", "Hc2 s")
    check(ask(s, b"Hg2") == b"OK", "Hg2")
    check(eip(s) == ap_loop + 6, "the AP after one step")
    check(read32(s, sym["ap_count"]) == count + 1, "one increment by the stepped AP")
    check(read32(s, sym["bsp_count"]) == bsp, "the BSP ran during a step of the AP")
    # vCont;s:2;c: the AP steps (back to ap_loop), the BSP runs meanwhile.
    s.sendall(frame(b"vCont;s:2;c"))
    check(wait_reply(s) == b"T05thread:02;", "vCont;s:2;c")
    check(eip(s) == ap_loop, "the AP stepped back to ap_loop")

    # Breakpoints in both loops: each stop names a thread at its own
    # breakpoint (a vCPU stopped at its breakpoint while the other's stop was
    # reported keeps its stop for a later resume), and both threads get stops.
    check(ask(s, b"Z1,%x,1" % bsp_loop) == b"OK" and ask(s, b"Z1,%x,1" % ap_loop) == b"OK", "Z1 both loops")
    seen = set()
    for _ in range(12):
        s.sendall(frame(b"vCont;c"))
        sig, tid = stop_thread(wait_reply(s))
        check(sig == 5 and tid in (1, 2), f"stop {sig} thread {tid}")
        check(ask(s, b"Hg%x" % tid) == b"OK", "Hg")
        at = eip(s)
        check(at == (bsp_loop if tid == 1 else ap_loop), f"thread {tid} stopped at {at:#x}")
        seen.add(tid)
    # Which vCPU gets there first is the host's choice: a thread woken a
    # moment later than the other may be stopped before its breakpoint each time.
    print(f"rsp_threads: breakpoint stops named thread(s) {sorted(seen)}", file=sys.stderr)
    check(ask(s, b"z1,%x,1" % bsp_loop) == b"OK" and ask(s, b"z1,%x,1" % ap_loop) == b"OK", "z1")

    # Ctrl-C while both run (the BSP loops until the debugger says): SIGINT, naming a thread.
    check(ask(s, b"M%x,4:ffffffff" % sym["ap_limit"]) == b"OK", "M ap_limit")
    s.sendall(frame(b"vCont;c"))
    time.sleep(0.05)
    s.sendall(b"\x03")
    sig, tid = stop_thread(wait_reply(s))
    check(sig == 2 and tid in (1, 2), f"Ctrl-C: signal {sig} thread {tid}")
    check(ask(s, b"qfThreadInfo") == b"m01,02", "qfThreadInfo while stopped")
    check(ask(s, b"M%x,4:%s" % (sym["ap_limit"], struct.pack("<I", sym["AP_LIMIT"]).hex().encode())) == b"OK",
          "M ap_limit")
    check(ask(s, b"D") == b"OK", "detach")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("x86v", nargs=argparse.REMAINDER)
    o = ap.parse_args()
    argv = o.x86v[1:] if o.x86v and o.x86v[0] == "--" else o.x86v
    sym = elf_symbols(o.elf)
    vm, err, port = start_stub(argv)
    try:
        if port is None:
            raise Fail("no GDB stub")
        s = connect(port)
        session(s, sym)
        s.close()
    except (Fail, RuntimeError, OSError) as e:
        return fail(vm, err, f"rsp_threads: {e}")
    return finish(vm, err)

if __name__ == "__main__":
    sys.exit(main())
