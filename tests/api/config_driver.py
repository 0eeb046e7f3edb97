#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Command-line test driver: --config-file, Firecracker's configuration file.

  config_driver.py --guests DIR -- X86V...

A configuration with the Multiboot test kernel (64 MiB, the soft engine)
boots it: status 3 and its first line. Bad files end with status 2 and one
line: not JSON, an unknown field, a missing kernel, two vCPUs, a drive whose
id is missing, a missing file. Prints one line per case; exits 0 when all hold.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guests", required=True)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    x86v = (opts.command[1:] if opts.command[:1] == ["--"] else opts.command)[0]
    kernel = os.path.join(opts.guests, "multiboot.elf")
    good = {"boot-source": {"kernel_image_path": kernel, "boot_args": "x86v multiboot test"},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "x86v_engine": "soft"},
            "drives": [], "network-interfaces": [], "logger": None}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="x86v-config-") as tmp:
        def case(name, config, status, want):
            nonlocal failures
            path = os.path.join(tmp, name + ".json")
            if config is not None:
                with open(path, "w") as f:
                    f.write(config if isinstance(config, str) else json.dumps(config))
            r = subprocess.run([x86v, "--config-file", path, "--timeout", "30"], capture_output=True, text=True)
            stream = r.stdout if status == 3 else r.stderr
            ok = r.returncode == status and want in stream and (status == 3 or len(r.stderr.splitlines()) == 1)
            print(f"{'ok' if ok else 'FAIL'} {name}: status {r.returncode}: "
                  f"{(r.stdout.splitlines() or [''])[0] if status == 3 else r.stderr.strip()}")
            failures += not ok

        case("boots", good, 3, "x86v multiboot: magic ok")
        case("not-json", "{boot-source", 2, "--config-file")
        case("unknown-field", dict(good, colour=1), 2, "configuration: unknown field `colour`")
        case("no-kernel", dict(good, **{"boot-source": {"boot_args": "x"}}), 2,
             "missing field `kernel_image_path`")
        case("too-many-vcpus", dict(good, **{"machine-config": {"vcpu_count": 65, "mem_size_mib": 64}}), 2,
             "vcpu_count 65: between 1 and 64")
        case("drive-without-id", dict(good, drives=[{"path_on_host": "x", "is_root_device": False}]), 2,
             "drives[0]: missing field `drive_id`")
        case("missing-file", None, 2, "--config-file")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
