"""Connect retries and the per-target handshake bound, without a network."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from smmcheck.collect.session import (
    CollectError,
    ConnectGate,
    HostKeyPolicy,
    Reach,
    RetryableConnectError,
)


def test_a_connect_that_may_pass_is_tried_again_and_others_are_not(tmp_path: Path) -> None:
    reach = Reach(HostKeyPolicy(tmp_path / "known_hosts"), connect_retries=1)
    calls: list[str] = []

    def flaky() -> str:
        calls.append("x")
        if len(calls) == 1:
            raise RetryableConnectError("closed before the SSH banner")
        return "session"

    assert reach.connect("10.0.0.1", 22, flaky) == "session"
    assert len(calls) == 2

    def denied() -> str:
        calls.append("auth")
        raise CollectError("authentication failed")

    with pytest.raises(CollectError, match="authentication failed"):
        reach.connect("10.0.0.1", 22, denied)
    assert calls.count("auth") == 1  # an authentication failure is never retried


def test_retries_run_out(tmp_path: Path) -> None:
    reach = Reach(HostKeyPolicy(tmp_path / "known_hosts"), connect_retries=0)

    def refused() -> str:
        raise RetryableConnectError("connection refused")

    with pytest.raises(RetryableConnectError):
        reach.connect("10.0.0.1", 22, refused)


def test_handshakes_to_one_target_are_bounded_and_other_targets_are_not_held_up() -> None:
    gate = ConnectGate(limit=3)
    lock = threading.Lock()
    release = threading.Event()
    inside: dict[int, int] = {22: 0, 2222: 0}
    peak: dict[int, int] = {22: 0, 2222: 0}

    def handshake(port: int) -> None:
        with gate.handshake("10.0.0.1", port):
            with lock:
                inside[port] += 1
                peak[port] = max(peak[port], inside[port])
            release.wait(timeout=10)
            with lock:
                inside[port] -= 1

    threads = [threading.Thread(target=handshake, args=(p,)) for p in [22] * 12 + [2222] * 4]
    for thread in threads:
        thread.start()
    # Hold every handshake open until both targets are at their bound, then give the
    # waiting threads a chance to (wrongly) get in before releasing them all.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and inside != {22: 3, 2222: 3}:
        time.sleep(0.01)
    time.sleep(0.1)
    release.set()
    for thread in threads:
        thread.join()
    assert peak == {22: 3, 2222: 3}


def test_keys_learned_at_once_by_many_sessions_are_all_kept(tmp_path: Path) -> None:
    import paramiko

    from smmcheck.collect.hostkeys import KnownHosts

    path = tmp_path / "known_hosts"
    key = paramiko.Ed25519Key.from_private_key_file
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    server_key = key(str(tmp_path / "k"))
    learner = KnownHosts(path, accept_new=True)
    names = [f"[127.0.0.1]:{2200 + n}" for n in range(32)]
    threads = [
        threading.Thread(target=learner.missing_host_key, args=(None, name, server_key))
        for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = path.read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(names)

    # The next run, without trust on first use, verifies every learned key...
    checker = KnownHosts(path, accept_new=False)
    for name in names:
        checker.missing_host_key(None, name, server_key)
    # ...and refuses another key for a known host, and any key for an unknown one.
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "o")], check=True
    )
    with pytest.raises(paramiko.BadHostKeyException):
        checker.missing_host_key(None, names[0], key(str(tmp_path / "o")))
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        checker.missing_host_key(None, "[127.0.0.1]:9", server_key)
