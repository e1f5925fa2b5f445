"""Collection from a real OpenSSH server on loopback (this host as a Linux gateway)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smmcheck.cli.main import main
from smmcheck.snapshot import read_manifest, verify

PLANTED = "Planted-Secret-4711"


def _inventory(tmp_path: Path, server: Any, *, key: Path | None = None, extra: str = "") -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "defaults:\n"
        f"  username: {server.user}\n"
        "  password: {env: SMM_TEST_PASSWORD}\n"
        "devices:\n"
        f"  - {{name: gw-01, host: 127.0.0.1, port: {server.port}, platform: linux,"
        f" category: gateway, site: plant-a, key_file: '{key or server.client_key}'}}\n" + extra
    )
    return path


def _known_hosts(tmp_path: Path, server: Any, key: str | None = None) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(f"[127.0.0.1]:{server.port} {key or server.host_key_pub}\n")
    return path


def _collect(tmp_path: Path, inventory: Path, known_hosts: Path, *extra: str) -> tuple[int, Path]:
    snapshot = tmp_path / "snapshot"
    code = main(
        [
            "collect",
            "--inventory",
            str(inventory),
            "--output",
            str(snapshot),
            "--known-hosts",
            str(known_hosts),
            *extra,
        ]
    )
    return code, snapshot


@pytest.fixture(autouse=True)
def _planted_password(monkeypatch: pytest.MonkeyPatch) -> None:
    # Referenced by the inventory; the server only takes keys, so it is never needed, and
    # it must never appear anywhere smmcheck writes.
    monkeypatch.setenv("SMM_TEST_PASSWORD", PLANTED)


def test_linux_gateway_is_collected_into_a_verifiable_snapshot(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, snapshot = _collect(tmp_path, _inventory(tmp_path, sshd), _known_hosts(tmp_path, sshd))
    out, err = capsys.readouterr()
    assert code == 0, err
    manifest = read_manifest(snapshot)
    assert manifest is not None
    (device,) = manifest.devices
    assert (device.name, device.status, device.platform, device.site) == (
        "gw-01",
        "ok",
        "linux",
        "plant-a",
    )
    expected = subprocess.run(
        ["ssh-keygen", "-lf", "-"],
        input=sshd.host_key_pub,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert device.host_key is not None and device.host_key.sha256 == expected
    outputs = {o.name: o for o in device.outputs}
    assert outputs["os-release"].complete
    assert "ID=" in (snapshot / "gw-01" / "os-release.txt").read_text()
    assert outputs["listening-sockets"].exit_status == 0
    assert f":{sshd.port}" in (snapshot / "gw-01" / "listening-sockets.txt").read_text()
    assert verify(snapshot, manifest) == []
    written = "".join(p.read_text(errors="replace") for p in snapshot.rglob("*") if p.is_file())
    assert PLANTED not in written + out + err


def _running_here() -> set[str]:
    """The names (comm) of this host's processes, from /proc itself."""
    names = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            names.add(comm.read_text().strip())
        except OSError:
            continue  # the process ended meanwhile
    return names


def test_log_forwarding_and_ntp_commands_run_and_settle_what_runs_here(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, snapshot = _collect(tmp_path, _inventory(tmp_path, sshd), _known_hosts(tmp_path, sshd))
    assert code == 0, capsys.readouterr().err
    manifest = read_manifest(snapshot)
    assert manifest is not None
    outputs = {o.name: o for o in manifest.devices[0].outputs}
    # systemctl and timedatectl answer only where systemd is PID 1; elsewhere (a container,
    # like this test host) they fail, and their outputs are incomplete: unknown.
    booted = Path("/run/systemd/system").is_dir()
    for name in ("service-state", "clock-sync"):
        assert outputs[name].complete == booted, outputs[name].problem
        if not booted:
            assert "not been booted with systemd" in (outputs[name].problem or "")
    # The process list, read as root, shows PID 1: whole.
    processes = (snapshot / (outputs["processes"].file or "")).read_text()
    assert outputs["processes"].complete
    assert re.search(r"^\s*1 \S", processes, re.MULTILINE)
    # A file the host lacks is recorded as such ("No such file or directory"): known absent.
    for name, path in (
        ("rsyslog-config", "/etc/rsyslog.conf"),
        ("journal-upload-config", "/etc/systemd/journal-upload.conf"),
        ("syslog-ng-config", "/etc/syslog-ng/syslog-ng.conf"),
        ("timesyncd-config", "/etc/systemd/timesyncd.conf"),
    ):
        assert outputs[name].complete == Path(path).is_file(), name
        if not Path(path).is_file():
            assert "No such file or directory" in (outputs[name].problem or ""), name
    assert verify(snapshot, manifest) == []
    capsys.readouterr()
    main(["check", "--format", "json", "--no-cache", str(snapshot)])
    results = {r["policy"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    # Which daemons run is settled (by systemctl or the process list): never inconclusive.
    assert results["logging-remote"]["status"] in ("pass", "fail")
    assert results["ntp-configured"]["status"] in ("pass", "fail")
    running = _running_here()
    if not {"systemd-timesyn", "chronyd", "ntpd"} & running:
        assert results["ntp-configured"]["status"] == "fail"  # no NTP daemon runs here
    if not {"rsyslogd", "syslog-ng", "syslogd"} & running and not booted:
        assert results["logging-remote"]["status"] == "fail"


def test_tampered_output_no_longer_verifies(tmp_path: Path, sshd: Any) -> None:
    code, snapshot = _collect(tmp_path, _inventory(tmp_path, sshd), _known_hosts(tmp_path, sshd))
    assert code == 0
    (snapshot / "gw-01" / "uname.txt").write_text("Linux forged 1.0\n")
    manifest = read_manifest(snapshot)
    assert manifest is not None
    assert verify(snapshot, manifest) == ["gw-01/uname.txt: sha256 differs from the manifest"]


def test_unknown_host_key_is_refused(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, snapshot = _collect(tmp_path, _inventory(tmp_path, sshd), empty)
    err = capsys.readouterr().err
    assert code == 3
    assert "gw-01: not collected: unknown host key for 127.0.0.1" in err
    manifest = read_manifest(snapshot)
    assert manifest is not None and manifest.devices[0].outputs == []


def test_trust_on_first_use_records_the_key_and_verifies_it_next_time(
    tmp_path: Path, sshd: Any
) -> None:
    known = tmp_path / "known_hosts"
    code, _ = _collect(tmp_path, _inventory(tmp_path, sshd), known, "--accept-new-host-keys")
    assert code == 0
    assert sshd.host_key_pub.split()[1] in known.read_text()
    assert _collect(tmp_path, _inventory(tmp_path, sshd), known)[0] == 0


def test_changed_host_key_is_always_refused(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Path(str(sshd.other_key) + ".pub").read_text().split()
    known = _known_hosts(tmp_path, sshd, key=f"{other[0]} {other[1]}")
    code, _ = _collect(tmp_path, _inventory(tmp_path, sshd), known, "--accept-new-host-keys")
    assert code == 3
    assert "host key of 127.0.0.1:" in capsys.readouterr().err


def test_authentication_failure_is_a_device_error(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _inventory(tmp_path, sshd, key=sshd.other_key)
    code, _ = _collect(tmp_path, inventory, _known_hosts(tmp_path, sshd))
    err = capsys.readouterr().err
    assert code == 3
    assert "gw-01: not collected: authentication failed" in err
    assert PLANTED not in err


def test_refused_connection_fails_one_device_and_the_run_goes_on(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    extra = (
        f"  - {{name: gw-02, host: 127.0.0.1, port: {closed}, platform: linux,"
        f" key_file: '{sshd.client_key}'}}\n"
    )
    code, snapshot = _collect(
        tmp_path, _inventory(tmp_path, sshd, extra=extra), _known_hosts(tmp_path, sshd)
    )
    assert code == 3
    assert (
        f"gw-02: not collected: connection refused by 127.0.0.1:{closed}" in capsys.readouterr().err
    )
    status = {
        d["name"]: d["status"]
        for d in json.loads((snapshot / "manifest.json").read_text())["devices"]
    }
    assert status == {"gw-01": "ok", "gw-02": "error"}


# --- injected faults through the real sshd ------------------------------------------------


def _fifo_recipe(tmp_path: Path) -> tuple[Path, Path]:
    """A Linux recipe whose second command reads a FIFO the test controls."""
    fifo = tmp_path / "slow-output"
    os.mkfifo(fifo)
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "linux.yaml").write_text(
        "platform: linux\ntransport: paramiko\ncommands:\n"
        "  - {name: os-release, command: cat /etc/os-release, complete: {exit_status: 0}}\n"
        f"  - {{name: slow, command: cat {fifo}, timeout: 2, complete: {{exit_status: 0}}}}\n"
    )
    return recipes, fifo


def _release(fifo: Path) -> None:
    """End a remote `cat` still blocked on ``fifo`` (EOF), so no process outlives the test."""
    with contextlib.suppress(OSError):  # ENXIO: no reader left
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc: procps may not be installed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_hung_command_is_a_device_error_after_its_timeout(tmp_path: Path, sshd: Any) -> None:
    recipes, fifo = _fifo_recipe(tmp_path)  # nobody writes: `cat` blocks for ever
    try:
        code, snapshot = _collect(
            tmp_path,
            _inventory(tmp_path, sshd),
            _known_hosts(tmp_path, sshd),
            f"--recipes={recipes}",
        )
    finally:
        _release(fifo)
    assert code == 3
    manifest = read_manifest(snapshot)
    assert manifest is not None
    (device,) = manifest.devices
    assert device.error == "command 'slow' hung past its 2 s timeout"
    assert [o.name for o in device.outputs] == ["os-release"]


def test_connection_dropped_mid_output_is_a_device_error(tmp_path: Path, sshd: Any) -> None:
    recipes, fifo = _fifo_recipe(tmp_path)

    def half_then_drop() -> None:
        with fifo.open("w") as out:  # blocks until the remote `cat` opens it
            out.write("first half of the output\n" * 100)
            out.flush()
            time.sleep(0.3)
            # Kill the session processes (children of the listening sshd): the TCP
            # connection goes down while `cat` is still streaming.
            for child in _children(sshd.pid):
                os.kill(child, signal.SIGKILL)

    writer = threading.Thread(target=half_then_drop)
    writer.start()
    code, snapshot = _collect(
        tmp_path,
        _inventory(tmp_path, sshd),
        _known_hosts(tmp_path, sshd),
        f"--recipes={recipes}",
    )
    writer.join(timeout=10)
    assert code == 3
    manifest = read_manifest(snapshot)
    assert manifest is not None
    (device,) = manifest.devices
    assert (device.error or "").startswith("connection dropped during 'slow'")


def test_recipe_folder_cannot_smuggle_a_write_command(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "linux.yaml").write_text(
        "platform: linux\ntransport: paramiko\ncommands:\n"
        "  - {name: wipe, command: rm -rf /tmp/x}\n"
    )
    code, snapshot = _collect(
        tmp_path, _inventory(tmp_path, sshd), _known_hosts(tmp_path, sshd), f"--recipes={recipes}"
    )
    assert code == 2
    assert "'rm -rf /tmp/x' is not a read-only linux command" in capsys.readouterr().err
    assert not snapshot.exists()


def test_password_login_of_an_unprivileged_account_falls_back_to_sshd_config(
    tmp_path: Path, sshd: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMM_GW_PASSWORD", sshd.password)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "devices:\n"
        f"  - {{name: gw-02, host: 127.0.0.1, port: {sshd.port}, platform: linux,"
        f" username: {sshd.password_user}, password: {{env: SMM_GW_PASSWORD}}}}\n"
    )
    code, snapshot = _collect(tmp_path, inventory, _known_hosts(tmp_path, sshd))
    out, err = capsys.readouterr()
    assert code == 0, err
    manifest = read_manifest(snapshot)
    assert manifest is not None
    outputs = {o.name: o for o in manifest.devices[0].outputs}
    # `sshd -T` needs root: refused for this account, recorded as incomplete (optional),
    # while the configuration file is read.
    assert not outputs["sshd-effective"].complete
    assert outputs["sshd-config"].complete
    assert "ID=" in (snapshot / (outputs["os-release"].file or "")).read_text()
    written = "".join(p.read_text() for p in snapshot.rglob("*") if p.is_file())
    assert sshd.password not in written + out + err
