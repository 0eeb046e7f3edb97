#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Command-line test driver: --restore refuses every kind of bad snapshot.

  bad_snapshots.py --guests DIR -- X86V...

Takes a good snapshot of guests/snapshot-rom (soft engine, -m 16), then
restores damaged copies of it, each of which must end with status 2 and one
line on stderr naming the problem: missing and foreign files, truncation, a
damaged byte (checksum), another format version, another -m or another set of
devices, a memory file that is short, missing, of another snapshot or named
outside the directory, a state file that is too large, and records that pass
the checksum but hold what this x86v must refuse (a device state that breaks
an invariant, a newer device version, an unknown CPU event); a snapshot of
three vCPUs (guests/snapshot-smp-rom) restored with another --smp, one vCPU's
restored with --smp 2, an AP's record with an unknown event. Where /dev/kvm
is usable, a snapshot taken with --irqchip kernel (its PLAT section: KVM's
in-kernel interrupt controllers) restored without it or on soft, a snapshot
without one restored with it, and a PLAT part of another size. Then: a crash
while a new snapshot is written over the good one leaves the good one whole
(X86V_SNAPSHOT_TEST=crash-before-commit), Ctrl-A s writes a snapshot of a
running guest, which goes on (with one vCPU and with three), and a last restore of the good snapshot succeeds. Prints one line per case; exits 0 when all hold.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HEADER = 24  # magic, format, crc, payload length


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff


def reseal(state):
    """The state file with its checksum and length made right again."""
    payload = state[HEADER:]
    return state[:12] + struct.pack("<IQ", crc32c(payload), len(payload)) + payload


def field_offset(state, record, field):
    """Offset of the bytes of field in the record named record."""
    at = state.index(bytes([len(record)]) + record.encode() + b"\x00"[:0])
    key = bytes([len(field)]) + field.encode()
    return state.index(key, at) + len(key) + 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guests", required=True)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    x86v = (opts.command[1:] if opts.command[:1] == ["--"] else opts.command)[0]
    rom = os.path.join(opts.guests, "snapshot-rom.bin")
    base = [x86v, "run", "--accel", "soft", "-m", "16", "--bios", rom]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="x86v-badsnap-") as tmp:
        good = os.path.join(tmp, "good")
        r = subprocess.run(base + ["--timeout", "0.3", "--snapshot-on-exit", good], capture_output=True, text=True)
        if r.returncode != 12 or not os.path.exists(good):
            print(f"cannot take the good snapshot: status {r.returncode}\n{r.stderr}")
            return 1
        state = open(good, "rb").read()
        mem_name = next(f for f in os.listdir(tmp) if f.startswith("good.mem-"))
        mem = os.path.join(tmp, mem_name)
        other = os.path.join(tmp, "other")
        subprocess.run(base + ["--timeout", "0.2", "--snapshot-on-exit", other], capture_output=True)
        other_mem = os.path.join(tmp, next(f for f in os.listdir(tmp) if f.startswith("other.mem-")))

        def case(name, want, state_bytes=None, mem_bytes=None, mem_from=None, args=(), path=None, accel="soft",
                 guest=rom):
            nonlocal failures
            d = os.path.join(tmp, name)
            os.mkdir(d)
            target = path or os.path.join(d, "snap")
            if state_bytes is not None:
                with open(target, "wb") as f:
                    f.write(state_bytes)
            if mem_bytes is not None:
                with open(os.path.join(d, mem_name), "wb") as f:
                    f.write(mem_bytes)
            elif mem_from:
                shutil.copy(mem_from, os.path.join(d, mem_name))
            r = subprocess.run(base[:3] + [accel] + list(args) + ["--bios", guest, "--timeout", "5", "--restore", target],
                               capture_output=True, text=True)
            lines = r.stderr.splitlines()
            ok = r.returncode == 2 and len(lines) == 1 and want in lines[0]
            print(f"{'ok' if ok else 'FAIL'} {name}: status {r.returncode}: {r.stderr.strip()}")
            failures += not ok

        memory = open(mem, "rb").read()
        m16 = ["-m", "16"]
        case("missing", "No such file or directory", path=os.path.join(tmp, "nothing-here"))
        case("foreign", "not an x86v snapshot", b"\x7fELF" + bytes(100), mem_from=mem, args=m16)
        case("empty", "not an x86v snapshot", b"", args=m16)
        case("truncated", "truncated", state[:len(state) // 2], mem_from=mem, args=m16)
        flipped = bytearray(state)
        flipped[len(state) // 2] ^= 0x40
        case("damaged", "checksum mismatch", bytes(flipped), mem_from=mem, args=m16)
        case("format", "snapshot format 2, this x86v reads format 1",
             state[:8] + struct.pack("<I", 2) + state[12:], mem_from=mem, args=m16)
        case("other-ram-size", "taken with -m 16 MiB; this machine has 32 MiB", state, mem_from=mem,
             args=["-m", "32"])
        case("other-devices", "the snapshot has", state, mem_from=mem, args=m16 + ["--rng"])
        case("memory-short", "the snapshot needs", state, mem_bytes=memory[:len(memory) // 2], args=m16)
        case("memory-missing", "No such file or directory", state, args=m16)
        case("memory-foreign", "does not belong to this snapshot", state, mem_from=other_mem, args=m16)
        named = bytearray(state)
        at = named.index(mem_name.encode())
        named[at:at + 5] = b"../.."
        case("memory-outside", "is not a plain file name", reseal(bytes(named)), args=m16)
        big = os.path.join(tmp, "big")
        with open(big, "wb") as f:
            f.truncate(65 << 20)
        case("too-large", "too large for a state file", path=big, args=m16)
        bad = bytearray(state)
        bad[field_offset(state, "com1", "rx_count")] = 200
        case("device-invariant", "com1: inconsistent state", reseal(bytes(bad)), mem_from=mem, args=m16)
        newer = bytearray(state)
        at = newer.index(b"\x04com1\x09uart16550") + 15
        newer[at:at + 4] = struct.pack("<I", 2)
        case("device-newer", "device com1: state version 2, this x86v knows up to 1", reseal(bytes(newer)),
             mem_from=mem, args=m16)
        event = bytearray(state)
        event[field_offset(state, "cpu0", "events.injected")] = 7
        case("cpu-event", "cpu0: an injected event of unknown kind 7", reseal(bytes(event)), mem_from=mem, args=m16)

        smp_rom = os.path.join(opts.guests, "snapshot-smp-rom.bin")
        smp = os.path.join(tmp, "smp")
        smp_args = ["-m", "16", "--smp", "3"]
        r = subprocess.run(base[:4] + smp_args + ["--bios", smp_rom, "--timeout", "0.5", "--snapshot-on-exit", smp],
                           capture_output=True, text=True)
        ok = r.returncode == 12 and os.path.exists(smp)
        print(f"{'ok' if ok else 'FAIL'} a snapshot of three vCPUs: status {r.returncode}")
        failures += not ok
        if ok:
            case("smp-fewer", "taken with --smp 3; this machine has 2 vCPUs", args=m16 + ["--smp", "2"], path=smp,
                 guest=smp_rom)
            case("smp-one", "taken with --smp 3; this machine has 1 vCPU", args=m16, path=smp, guest=smp_rom)
            case("smp-from-one", "taken with --smp 1; this machine has 2 vCPUs", state, mem_from=mem,
                 args=m16 + ["--smp", "2"])
            smp_state = open(smp, "rb").read()
            ap_event = bytearray(smp_state)
            ap_event[field_offset(smp_state, "cpu2", "events.injected")] = 7
            case("smp-ap-event", "cpu2: an injected event of unknown kind 7", reseal(bytes(ap_event)),
                 mem_from=os.path.join(tmp, next(f for f in os.listdir(tmp) if f.startswith("smp.mem-"))),
                 args=m16 + ["--smp", "3"], guest=smp_rom)

        if os.access("/dev/kvm", os.R_OK | os.W_OK):
            kirq = os.path.join(tmp, "kirq")
            kvm_args = ["--accel", "kvm", "--irqchip", "kernel"] + base[4:]
            r = subprocess.run([x86v, "run"] + kvm_args + ["--timeout", "0.3", "--snapshot-on-exit", kirq],
                               capture_output=True, text=True)
            ok = r.returncode == 12 and os.path.exists(kirq)
            print(f"{'ok' if ok else 'FAIL'} a snapshot with --irqchip kernel: status {r.returncode}")
            failures += not ok
            if ok:
                taken_with = "taken with --irqchip kernel: restore it with --accel kvm --irqchip kernel"
                case("kirq-without-irqchip", taken_with, args=m16, path=kirq, accel="kvm")
                case("kirq-on-soft", taken_with, args=m16, path=kirq)
                case("irqchip-without-kirq", "taken without --irqchip kernel: restore it without --irqchip kernel",
                     args=m16 + ["--irqchip", "kernel"], path=good, accel="kvm")
                resized = bytearray(open(kirq, "rb").read())
                at = resized.index(b"\x05lapic") + 6
                size = struct.unpack("<I", resized[at:at + 4])[0]
                resized[at:at + 4] = struct.pack("<I", size - 1)
                del resized[at + 4]
                plat = resized.index(b"PLAT")
                resized[plat + 4:plat + 8] = struct.pack("<I", struct.unpack("<I", resized[plat + 4:plat + 8])[0] - 1)
                case("kirq-part-size", f"kvm-platform: part lapic has {size - 1} bytes, this x86v's KVM has {size}",
                     reseal(bytes(resized)), args=m16 + ["--irqchip", "kernel"], path=os.path.join(tmp, "kirq-resized"),
                     accel="kvm")
        else:
            print("skip the --irqchip kernel cases: /dev/kvm is unusable here")

        before = open(good, "rb").read()
        r = subprocess.run(base + ["--timeout", "0.5", "--snapshot-on-exit", good], capture_output=True, text=True,
                           env=dict(os.environ, X86V_SNAPSHOT_TEST="crash-before-commit"))
        ok = r.returncode == 14 and open(good, "rb").read() == before and os.path.exists(mem)
        print(f"{'ok' if ok else 'FAIL'} a crash before the commit keeps the previous snapshot: status {r.returncode}")
        failures += not ok

        def ctrl_a_s(argv, snap, marker):
            """Runs argv with --snapshot-on-exit snap to its end, typing Ctrl-A s once a line holds marker."""
            p = subprocess.Popen(argv + ["--snapshot-on-exit", snap], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            out = b""
            for line in iter(p.stdout.readline, b""):
                out += line
                if marker in line:
                    p.stdin.write(b"\x01s")
                    p.stdin.flush()
            err = p.stderr.read().decode()
            p.wait()
            return p.returncode == 3 and f"snapshot written to {snap}" in err and os.path.exists(snap), p.returncode, out

        live = os.path.join(tmp, "live")
        ok, rc, out = ctrl_a_s(base + ["--timeout", "10"], live, b"round 02")
        ok = ok and b"right after 15" in out
        print(f"{'ok' if ok else 'FAIL'} Ctrl-A s snapshots a running guest, which goes on: status {rc}")
        failures += not ok
        r = subprocess.run(base + ["--timeout", "10", "--restore", live], capture_output=True, text=True)
        ok = r.returncode == 3 and r.stdout.startswith("x86v snapshot: round 03")
        print(f"{'ok' if ok else 'FAIL'} that snapshot restores from round 03: status {r.returncode}")
        failures += not ok

        live = os.path.join(tmp, "live-smp")
        smp_run = base[:4] + smp_args + ["--bios", smp_rom, "--timeout", "20"]
        ok, rc, out = ctrl_a_s(smp_run, live, b"tick 50")
        ok = ok and b"every CPU's hash right" in out
        print(f"{'ok' if ok else 'FAIL'} Ctrl-A s snapshots three running vCPUs, which go on: status {rc}")
        failures += not ok
        r = subprocess.run(smp_run + ["--restore", live], capture_output=True, text=True)
        ok = (r.returncode == 3 and r.stdout.startswith("tick ") and "tick 50\n" not in r.stdout
              and "every CPU's hash right" in r.stdout)
        print(f"{'ok' if ok else 'FAIL'} that snapshot restores after tick 50: status {r.returncode}")
        failures += not ok

        r = subprocess.run(base + ["--timeout", "10", "--restore", good], capture_output=True, text=True)
        ok = r.returncode == 3 and "CPU state right after 15 rounds" in r.stdout
        print(f"{'ok' if ok else 'FAIL'} the good snapshot restores: status {r.returncode}")
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
