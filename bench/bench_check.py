"""Benchmark: `smmcheck check` versus ciscoconfparse2 parsing alone, on generated configs.

Generates N realistic IOS-XE access-switch configs (~1,500 lines each: 48 access ports,
SVIs, named and numbered ACLs, AAA, SNMP, vty lines, type 9 secrets), then measures in
one run, each in a fresh process:

  parse-only   import ciscoconfparse2 and parse every file (one process, sequential)
  no hashing   the same without no-default-credentials (which hashes every default password
               with each type 8/9 secret's salt: scrypt, ~5 ms per candidate)
  smmcheck     `smmcheck check DIR --no-cache --workers 1` (same work, plus facts and policies)
  smmcheck -j  the same with the default worker pool
  warm cache   `smmcheck check DIR` a second time (facts and secret verdicts cached)

and prints wall times, ratios to parse-only, and peak memory (max RSS of the process).
Usage: python bench/bench_check.py [N] (default 40).
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def type9(password: str, rng: random.Random) -> str:
    """A real Cisco type 9 (scrypt) secret, so that default-password checks cost what
    they cost on real devices."""
    salt = "".join(rng.choice(_ALPHABET) for _ in range(14))
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    bits = int.from_bytes(digest, "big") << 2  # 256 bits -> 43 six-bit groups
    encoded = "".join(_ALPHABET[(bits >> (6 * i)) & 63] for i in reversed(range(43)))
    return f"$9${salt}${encoded}"


def generate(index: int, rng: random.Random) -> str:
    """One access-switch config of roughly 1,500 lines."""
    host = f"acc-sw{index:03d}"
    out = [
        "Building configuration...",
        "",
        "Current configuration : 48211 bytes",
        "!",
        "version 17.9",
        "service timestamps debug datetime msec localtime show-timezone",
        "service timestamps log datetime msec localtime show-timezone",
        "service password-encryption",
        "!",
        f"hostname {host}",
        "!",
        "vrf definition Mgmt-vrf",
        " address-family ipv4",
        " exit-address-family",
        "!",
        "logging buffered 65536 informational",
        f"enable secret 9 {type9(f'en-{index}-{rng.random()}', rng)}",
        "!",
        "aaa new-model",
        "aaa authentication login default group tacacs+ local",
        "aaa authorization exec default group tacacs+ local",
        "aaa accounting exec default start-stop group tacacs+",
        "!",
        f"username netops privilege 15 secret 9 {type9(f'ops-{rng.random()}', rng)}",
        "!",
        "ip domain name plant.example.net",
        "ip ssh version 2",
        "no ip http server",
        "ip http secure-server",
        "!",
    ]
    for vlan, name in (
        (10, "SERVERS"),
        (20, "OT-PLC"),
        (30, "IOT-SENSORS"),
        (40, "CAMERAS"),
        (99, "MGMT"),
    ):
        out += [f"vlan {vlan}", f" name {name}", "!"]
    for port in range(1, 49):
        vlan = (20, 30, 30, 40)[port % 4]
        out += [
            f"interface GigabitEthernet1/0/{port}",
            f" description {'SENSOR' if vlan == 30 else 'DEVICE'}-{index:03d}-{port:02d}",
            " switchport access vlan " + str(vlan),
            " switchport mode access",
            " switchport nonegotiate",
            " switchport port-security maximum 2",
            " switchport port-security violation restrict",
            " switchport port-security aging time 10",
            " switchport port-security",
            " ip access-group IOT-PORT-IN in" if vlan == 30 else " no cdp enable",
            " storm-control broadcast level 5.00",
            " storm-control action trap",
            " spanning-tree portfast",
            " spanning-tree bpduguard enable",
            " ip dhcp snooping limit rate 15",
            "!",
        ]
    for vlan in (10, 20, 30, 40, 99):
        out += [
            f"interface Vlan{vlan}",
            f" ip address 10.{vlan}.{index % 250}.2 255.255.255.0",
            " no ip redirects",
            " no ip proxy-arp",
            "!",
        ]
    out += ["ip access-list extended IOT-PORT-IN", " remark sensors reach the gateway only"]
    for seq in range(10, 600, 10):
        out.append(f" {seq} permit tcp 10.30.0.0 0.0.0.255 host 10.10.0.{seq % 250} eq 8883")
    out += [
        " 1000 deny ip any any log",
        "!",
        "ip access-list standard MGMT-ONLY",
        " permit 10.99.0.10",
        " permit 10.99.0.11",
        " deny any log",
        "!",
    ]
    for seq in range(1, 400):
        out.append(f"access-list 150 permit udp 10.{seq % 250}.0.0 0.0.255.255 any eq 514")
    out += [
        "logging host 10.99.0.20",
        "snmp-server group NMS v3 priv access MGMT-ONLY",
        "ntp server 10.99.0.21",
        "ntp server 10.99.0.22",
        "banner motd ^C",
        "Authorised access only. Disconnect now if you are not authorised.",
        "^C",
        "!",
        "line con 0",
        " exec-timeout 5 0",
        " stopbits 1",
        "line vty 0 4",
        " access-class MGMT-ONLY in vrf-also",
        " exec-timeout 10 0",
        " transport input ssh",
        "line vty 5 15",
        " access-class MGMT-ONLY in vrf-also",
        " exec-timeout 10 0",
        " transport input ssh",
        "!",
        "end",
    ]
    return "\n".join(out) + "\n"


def _policy_ids() -> list[str]:
    from smmcheck.policies import load_policies

    return sorted(load_policies().policies)


_PARSE_ONLY = """
import sys, pathlib
from ciscoconfparse2 import CiscoConfParse
from loguru import logger
logger.remove()
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    CiscoConfParse(path.read_text().splitlines(), syntax="ios", ignore_blank_lines=False)
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time and the child's peak RSS (KiB) of one command."""
    # The child's max RSS is read from a wrapper so each measurement has its own figure.
    wrapper = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]).returncode;"
        " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
        " sys.exit(0 if r in (0, 1, 3) else r)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], env=env, check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    return elapsed, int(done.stderr.strip().splitlines()[-1])


def main() -> int:
    """Generate the configs, run the four measurements, print the figures."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    rng = random.Random(8259)
    with tempfile.TemporaryDirectory(prefix="smmcheck-bench-") as tmp:
        folder = Path(tmp) / "configs"
        folder.mkdir()
        lines = 0
        for index in range(count):
            text = generate(index, rng)
            lines += text.count("\n")
            (folder / f"acc-sw{index:03d}.cfg").write_text(text)
        env = dict(os.environ, SMMCHECK_CACHE_DIR=str(Path(tmp) / "cache"))
        smmcheck = [
            sys.executable,
            "-m",
            "smmcheck",
            "check",
            str(folder),
            "--format",
            "json",
            "--output",
            str(Path(tmp) / "results.json"),
        ]
        parse_t, parse_rss = timed([sys.executable, "-c", _PARSE_ONLY, str(folder)], env)
        others = [
            a for p in _policy_ids() if p != "no-default-credentials" for a in ("--policy", p)
        ]
        nohash_t, nohash_rss = timed([*smmcheck, "--no-cache", "--workers", "1", *others], env)
        one_t, one_rss = timed([*smmcheck, "--no-cache", "--workers", "1"], env)
        pool_t, pool_rss = timed([*smmcheck, "--no-cache"], env)
        timed(smmcheck, env)  # fills the cache
        warm_t, warm_rss = timed(smmcheck, env)
    cores = os.cpu_count() or 1
    print(f"{count} configs, {lines} lines ({lines // count} per config), {cores} cores")
    print(f"{'run':<44}{'seconds':>9}{'vs parse-only':>15}{'peak RSS MiB':>14}")
    rows = [
        ("ciscoconfparse2 parse only (1 process)", parse_t, parse_rss),
        ("smmcheck --workers 1, no password hashing", nohash_t, nohash_rss),
        ("smmcheck check --no-cache --workers 1", one_t, one_rss),
        (f"smmcheck check --no-cache (pool of {min(cores, 8)})", pool_t, pool_rss),
        ("smmcheck check, warm cache", warm_t, warm_rss),
    ]
    for name, seconds, rss in rows:
        print(f"{name:<44}{seconds:>9.2f}{seconds / parse_t:>14.2f}x{rss / 1024:>14.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
