"""Shared fixtures: a private smmcheck cache for every test, and a real sshd on loopback."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mosquitto_server import Broker, find_mosquitto, running_mosquitto


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMMCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


# --- a real OpenSSH server on loopback, for the collectors ---------------------------------


@dataclass(frozen=True)
class SshServer:
    """A running sshd: where it listens, its host key, and a client key it accepts."""

    port: int
    host_key_pub: str
    client_key: Path
    other_key: Path  # a valid key the server does not accept
    user: str
    pid: int  # the listener; each session runs in a child process of it
    password_user: str  # an unprivileged account that logs in with a password
    password: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def sshd_binary() -> str:
    """Debian's sshd (installed by .ci/run); the tests that run it need root, as CI has."""
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(binary).exists() or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must provide openssh-server and run as root (see .ci/run)")
        pytest.skip("needs openssh-server and root")
    return binary


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, sshd_binary: str) -> Iterator[SshServer]:
    """Debian's OpenSSH server on 127.0.0.1, with its own config and keys. It runs as root:
    privilege separation needs it."""
    binary = sshd_binary
    folder = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key", "other_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True
        )
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    password_user, password = _password_account()
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder}/host_key\n"
        f"PidFile {folder}/sshd.pid\nAuthorizedKeysFile {folder}/authorized_keys\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
        "MaxStartups 100:30:200\n"
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("sshd did not start")
    key_type, key_data = (folder / "host_key.pub").read_text().split()[:2]
    yield SshServer(
        port,
        f"{key_type} {key_data}",
        folder / "client_key",
        folder / "other_key",
        "root",
        process.pid,
        password_user,
        password,
    )
    process.terminate()
    process.wait(timeout=10)
    # -f: a session of the account may still be closing when the server stops.
    subprocess.run(["userdel", "-f", password_user], check=False, capture_output=True)


def _password_account() -> tuple[str, str]:
    """A throw-away unprivileged user with a random password, for password logins (a real
    gateway account: no root, so `sshd -T` is refused and the recipe falls back)."""
    # One account per test session: two runs on one machine must not reset each other.
    user = f"smmcheck-t{os.getpid()}"
    password = "Pw-" + secrets.token_hex(12)
    if subprocess.run(["id", user], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            [
                "useradd",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/bin/sh",
                user,
            ],
            check=True,
            capture_output=True,
        )
    subprocess.run(["chpasswd"], input=f"{user}:{password}", text=True, check=True)
    return user, password


# --- a real mosquitto broker on loopback, for the TLS probe --------------------------------


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """Debian's mosquitto with listeners of different strictness (see mosquitto_server.py)."""
    binary = find_mosquitto()
    if binary is None or shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide mosquitto and openssl (see .ci/run)")
        pytest.skip("needs Debian's mosquitto and openssl packages")
    with running_mosquitto(binary) as running:
        yield running
