"""Benchmark: `smmcheck collect` versus Nornir with nornir-netmiko, against real sshd targets.

Starts N separate OpenSSH servers (Debian's /usr/sbin/sshd) on 127.0.0.1, each on its own
free port with its own ed25519 host key, accepting root with one generated client key
(``MaxStartups 200:30:400`` so that sshd's limit on unauthenticated connections is never
what is measured; with one device per target a server sees one connection at a time
anyway). Then collects the commands of the Linux recipe (collectors/linux.yaml, read with
``load_recipe("linux")`` so both tools send exactly the same commands) from every target,
in one run:

  smmcheck  ``collect(devices, CollectOptions(..., workers=W))``: one paramiko session per
            device, one exec channel per command, host keys verified against a known_hosts
            file written for the targets, outputs written and hashed into a snapshot folder
  Nornir    ``InitNornir`` (threaded runner, ``num_workers=W``, SimpleInventory from
            generated YAML files), one task per host running ``netmiko_send_command`` for
            each command over one netmiko connection (platform ``linux``: an interactive
            shell, prompt matching), then ``nr.close_connections()``

Each tool collects all N targets ``--rounds`` times (default 2), alternating smmcheck,
Nornir, smmcheck, Nornir ..., after one untimed warm-up device each (imports, first sshd
fork). The figures are totals over all rounds: devices/s = N x rounds / total seconds; the
best single round is shown too. Timed: ``collect()`` for smmcheck (including writing the
snapshot and its manifest), ``nr.run()`` plus closing the connections for Nornir (building
the Nornir object is not timed, as building the Device list is not). Every device must
succeed: any error (an smmcheck device with status "error", a failed Nornir task, or a
Nornir output that lacks what the recipe requires) is printed and the benchmark exits 1.

Sessions run with ``HOME`` set (sshd ``SetEnv``) to a fresh folder holding Debian's
default dotfiles (/etc/skel), as on a plain gateway: this machine's own /root/.bashrc is
sourced by every ``bash -c`` sshd starts (Debian's bash does so under sshd), once per
command for exec channels but once per device for netmiko's shell, and would measure the
dotfiles rather than the tools. ``--root-home`` keeps /root to show that effect.

Caveats: client and servers share this machine's cores, so server-side work (sshd forks,
key exchange, one shell per exec channel, the commands themselves, notably ``sshd -T``) is
part of both tools' time; with enough workers the machine, not the tool, is the limit, and
the ratio then tends to the ratio of total CPU per device (client and server). Real
targets bring their own CPU. Nornir/netmiko here do NOT verify host keys (netmiko's
default ``ssh_strict=False`` auto-adds them) while smmcheck does: that only favours Nornir.
Nornir keeps the outputs in memory; smmcheck writes them to disk. Needs root (sshd
privilege separation, root login) and the bench extra (``pip install -e '.[bench]'``).
Usage: python bench/bench_collect.py [--targets N] [--workers W] [--rounds R]
[--root-home] (defaults 16, 8, 2).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smmcheck.collect import CollectOptions, collect
from smmcheck.inventory import Device
from smmcheck.recipes import Recipe, load_recipe

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Target:
    """One running sshd: its port, its host key line for known_hosts, its process."""

    port: int
    host_key: str  # "keytype keydata"
    process: subprocess.Popen[bytes]


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken:  # the kernel may hand out a port again once it is closed
            taken.add(port)
            return port


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def start_targets(count: int, folder: Path, client_pub: Path, root_home: bool) -> list[Target]:
    """Start ``count`` sshd instances on loopback; return them once all of them listen.

    Unless ``root_home``, sessions get ``HOME`` set to a fresh folder holding Debian's
    default dotfiles (/etc/skel), so that this machine's own ~/.bashrc is not measured."""
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
    authorized = folder / "authorized_keys"
    authorized.write_text(client_pub.read_text())
    home_line = ""
    if not root_home:
        home = folder / "home"
        if Path("/etc/skel").is_dir():
            shutil.copytree("/etc/skel", home)
        else:
            home.mkdir()
        home_line = f"SetEnv HOME={home}\n"
    targets: list[Target] = []
    taken: set[int] = set()
    try:
        for index in range(count):
            own = folder / f"sshd{index:03d}"
            own.mkdir()
            _keygen(own / "host_key")
            port = _free_port(taken)
            config = own / "sshd_config"
            config.write_text(
                f"Port {port}\nListenAddress 127.0.0.1\nHostKey {own}/host_key\n"
                f"PidFile {own}/sshd.pid\nAuthorizedKeysFile {authorized}\n"
                "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
                f"MaxStartups 200:30:400\n{home_line}"
            )
            process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            key_type, key_data = (own / "host_key.pub").read_text().split()[:2]
            targets.append(Target(port, f"{key_type} {key_data}", process))
        deadline = time.monotonic() + 15
        waiting = list(targets)
        while waiting and time.monotonic() < deadline:
            waiting = [t for t in waiting if t.process.poll() is None and not _listening(t.port)]
            if waiting:
                time.sleep(0.05)
        dead = [t for t in targets if t.process.poll() is not None]
        if waiting or dead:
            raise RuntimeError(f"{len(waiting) + len(dead)} of {count} sshd targets did not start")
    except BaseException:
        stop_targets(targets)
        raise
    return targets


def stop_targets(targets: list[Target]) -> None:
    """Terminate every sshd started here (and only those)."""
    for target in targets:
        if target.process.poll() is None:
            target.process.terminate()
    for target in targets:
        try:
            target.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            target.process.kill()
            target.process.wait()


# --- smmcheck ------------------------------------------------------------------------------


def run_smmcheck(
    targets: list[Target], client_key: Path, known_hosts: Path, output: Path, workers: int
) -> tuple[float, list[str]]:
    """Collect every target with smmcheck; elapsed seconds and one line per failed device."""
    devices = [
        Device(
            name=f"gw-{t.port}",
            host="127.0.0.1",
            port=t.port,
            platform="linux",
            username="root",
            key_file=str(client_key),
        )
        for t in targets
    ]
    options = CollectOptions(output=output, known_hosts=known_hosts, workers=workers)
    started = time.perf_counter()
    manifest = collect(devices, options)
    elapsed = time.perf_counter() - started
    errors = [f"{d.name}: {d.error}" for d in manifest.devices if d.status != "ok"]
    if len(manifest.devices) != len(devices):
        errors.append(f"manifest lists {len(manifest.devices)} of {len(devices)} devices")
    return elapsed, errors


# --- Nornir --------------------------------------------------------------------------------


def nornir_inventory(targets: list[Target], client_key: Path, folder: Path) -> dict[str, Any]:
    """Write SimpleInventory files for the targets; return InitNornir's inventory option."""
    folder.mkdir(parents=True, exist_ok=True)
    hosts = {
        f"gw-{t.port}": {"hostname": "127.0.0.1", "port": t.port, "platform": "linux"}
        for t in targets
    }
    defaults = {
        "username": "root",
        "connection_options": {
            "netmiko": {
                "platform": "linux",
                # ssh_strict=False (netmiko's default): unknown host keys are auto-added.
                "extras": {"use_keys": True, "key_file": str(client_key), "allow_agent": False},
            }
        },
    }
    (folder / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (folder / "defaults.yaml").write_text(yaml.safe_dump(defaults))
    options = {
        "host_file": str(folder / "hosts.yaml"),
        "group_file": str(folder / "no-groups.yaml"),  # absent: no groups, no warning
        "defaults_file": str(folder / "defaults.yaml"),
    }
    return {"plugin": "SimpleInventory", "options": options}


def run_nornir(
    inventory: dict[str, Any], recipe: Recipe, workers: int, expected: int
) -> tuple[float, list[str]]:
    """Collect every target with Nornir and nornir-netmiko; elapsed seconds and failures."""
    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from nornir_netmiko.tasks import netmiko_send_command

    def collect_host(task: Task) -> Result:
        outputs: dict[str, str] = {}
        for command in recipe.commands:
            done = task.run(task=netmiko_send_command, command_string=command.command)
            outputs[command.name] = str(done.result)
        return Result(host=task.host, result=outputs)

    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": workers}},
        inventory=inventory,
        logging={"enabled": False},  # Nornir would otherwise write nornir.log in the cwd
    )
    started = time.perf_counter()
    try:
        results = nr.run(task=collect_host, on_failed=True)
    finally:
        nr.close_connections()
    elapsed = time.perf_counter() - started
    errors: list[str] = []
    for name, multi in results.items():
        if multi.failed:
            failed = next((r for r in multi if r.failed), multi[0])
            reason = failed.exception or failed.result
            errors.append(f"{name}: {type(reason).__name__}: {str(reason).strip()[:300]}")
            continue
        outputs = multi[0].result
        for command in recipe.commands:
            wanted = command.complete.contains
            if not command.optional and wanted and wanted not in outputs[command.name]:
                errors.append(f"{name}: {command.name}: output lacks '{wanted}'")
    if len(results) != expected:
        errors.append(f"Nornir returned {len(results)} of {expected} hosts")
    return elapsed, errors


# --- main ----------------------------------------------------------------------------------


def measure(
    targets: list[Target], folder: Path, client_key: Path, recipe: Recipe, workers: int, rounds: int
) -> tuple[dict[str, list[float]], list[str]]:
    """Warm up, then run both tools ``rounds`` times, alternating; seconds and failures."""
    known_hosts = folder / "known_hosts"
    known_hosts.write_text("".join(f"[127.0.0.1]:{t.port} {t.host_key}\n" for t in targets))
    failures: list[str] = []
    # Warm-up, untimed: one device per tool (imports, first forks, page cache).
    _, errors = run_smmcheck(targets[:1], client_key, known_hosts, folder / "warm", 1)
    failures += [f"warm-up smmcheck {e}" for e in errors]
    warm = nornir_inventory(targets[:1], client_key, folder / "nornir-warm")
    _, errors = run_nornir(warm, recipe, 1, 1)
    failures += [f"warm-up Nornir {e}" for e in errors]
    inventory = nornir_inventory(targets, client_key, folder / "nornir")
    times: dict[str, list[float]] = {"smmcheck": [], "Nornir": []}
    for index in range(rounds):
        output = folder / f"snapshot-{index}"
        elapsed, errors = run_smmcheck(targets, client_key, known_hosts, output, workers)
        times["smmcheck"].append(elapsed)
        failures += [f"round {index + 1} smmcheck {e}" for e in errors]
        elapsed, errors = run_nornir(inventory, recipe, workers, len(targets))
        times["Nornir"].append(elapsed)
        failures += [f"round {index + 1} Nornir {e}" for e in errors]
    return times, failures


def main() -> int:
    """Start the targets, measure both tools, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=16, help="sshd instances (devices)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent sessions, both tools")
    parser.add_argument("--rounds", type=int, default=2, help="collections of all targets")
    parser.add_argument(
        "--root-home", action="store_true", help="sessions use /root and its dotfiles"
    )
    args = parser.parse_args()
    if os.geteuid() != 0 or not Path(SSHD).exists() or not shutil.which("ssh-keygen"):
        print(f"bench_collect needs root, {SSHD} and ssh-keygen (openssh-server)", flush=True)
        return 2
    try:
        import nornir  # noqa: F401
        import nornir_netmiko  # noqa: F401
    except ImportError:
        print("bench_collect needs Nornir: pip install -e '.[bench]'", flush=True)
        return 2
    import smmcheck.collect.ssh_exec  # noqa: F401  (import paramiko before timing)

    recipe = load_recipe("linux")
    count, workers, rounds = args.targets, args.workers, args.rounds
    with tempfile.TemporaryDirectory(prefix="smmcheck-bench-collect-") as tmp:
        folder = Path(tmp)
        client_key = folder / "client_key"
        _keygen(client_key)
        targets = start_targets(count, folder, client_key.with_suffix(".pub"), args.root_home)
        try:
            times, failures = measure(targets, folder, client_key, recipe, workers, rounds)
        finally:
            stop_targets(targets)

    home = "/root dotfiles" if args.root_home else "clean HOME (/etc/skel)"
    print(
        f"{count} sshd targets on 127.0.0.1 ({home}), {workers} workers,"
        f" {len(recipe.commands)} commands per device, {rounds} rounds, {os.cpu_count()} cores"
    )
    print("method: each tool collects every target once per round, alternating; totals below")
    print(f"{'tool':<28}{'seconds':>9}{'devices/s':>11}{'best round/s':>14}")
    rates: dict[str, float] = {}
    for tool, spent in times.items():
        rates[tool] = count * rounds / sum(spent)
        label = f"{tool} ({'paramiko exec' if tool == 'smmcheck' else 'nornir-netmiko'})"
        print(f"{label:<28}{sum(spent):>9.2f}{rates[tool]:>11.1f}{count / min(spent):>14.1f}")
    print(f"smmcheck {rates['smmcheck'] / rates['Nornir']:.2f}x Nornir (devices/s, all rounds)")
    if failures:
        print(f"\n{len(failures)} FAILURES (the figures above are not valid):", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
