"""Real TLS servers on loopback for the probe tests.

* Debian's mosquitto 2.0 (installed by .ci/run), one broker with four listeners of different
  strictness. mosquitto.conf(5): ``tls_version`` is a *minimum* since 2.0 and takes tlsv1.3,
  tlsv1.2 or tlsv1.1 only ("tlsv1" is refused at start-up: ``Unsupported tls_version``), so
  no mosquitto 2.0 listener accepts TLS 1.0.
* ``openssl s_server -tls1`` for a server that does accept TLS 1.0.

Started as root, mosquitto drops to the ``mosquitto`` user *before* it reads the certificate,
so the files live in a world-readable folder of their own (pytest's tmp folders are 0700).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = Path("/usr/sbin/mosquitto")


@dataclass(frozen=True)
class Broker:
    """A running mosquitto: its listeners' ports and its log (``log_type all``)."""

    strict: int  # tls_version tlsv1.2: TLS 1.2 and 1.3
    legacy: int  # tls_version tlsv1.1 and every cipher at security level 0: TLS 1.1 to 1.3
    mutual: int  # tls_version tlsv1.2 and require_certificate true
    plain: int  # MQTT without TLS
    log: Path


def find_mosquitto() -> Path | None:
    """The broker binary, or None when the package is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return MOSQUITTO if MOSQUITTO.exists() else None


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (all bound at once, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def certificate_folder() -> Iterator[Path]:
    """A world-readable temporary folder with a self-signed RSA 2048 cert.pem and key.pem."""
    folder = Path(tempfile.mkdtemp(prefix="smmcheck-tls-"))
    try:
        folder.chmod(0o755)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-sha256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(folder / "key.pem"),
                "-out",
                str(folder / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
        for name in ("key.pem", "cert.pem"):
            (folder / name).chmod(0o644)  # a throw-away key, read by the `mosquitto` user
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def running_mosquitto(binary: Path) -> Iterator[Broker]:
    """mosquitto with the four listeners of :class:`Broker`, stopped on exit."""
    with certificate_folder() as folder:
        strict, legacy, mutual, plain = free_ports(4)
        tls = f"certfile {folder}/cert.pem\nkeyfile {folder}/key.pem\nallow_anonymous true\n"
        (folder / "mosquitto.conf").write_text(
            "per_listener_settings true\npersistence false\nlog_dest stderr\nlog_type all\n"
            f"listener {strict} 127.0.0.1\n{tls}tls_version tlsv1.2\n"
            f"listener {legacy} 127.0.0.1\n{tls}tls_version tlsv1.1\nciphers ALL:@SECLEVEL=0\n"
            f"listener {mutual} 127.0.0.1\n{tls}tls_version tlsv1.2\n"
            f"require_certificate true\ncafile {folder}/cert.pem\n"
            f"listener {plain} 127.0.0.1\nallow_anonymous true\n"
        )
        log = folder / "mosquitto.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(binary), "-c", str(folder / "mosquitto.conf")],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )
        try:
            for port in (strict, legacy, mutual, plain):
                _wait_listening(port, process, log)
            yield Broker(strict, legacy, mutual, plain, log)
        finally:
            _stop(process)


@contextmanager
def running_tls10_server() -> Iterator[int]:
    """``openssl s_server`` accepting TLS 1.0 only (every cipher, security level 0)."""
    with certificate_folder() as folder:
        (port,) = free_ports(1)
        log = folder / "s_server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    "openssl",
                    "s_server",
                    "-quiet",
                    "-accept",
                    f"127.0.0.1:{port}",
                    "-cert",
                    str(folder / "cert.pem"),
                    "-key",
                    str(folder / "key.pem"),
                    "-tls1",
                    "-cipher",
                    "ALL:@SECLEVEL=0",
                ],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )
        try:
            _wait_listening(port, process, log)
            yield port
        finally:
            _stop(process)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}: {log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
