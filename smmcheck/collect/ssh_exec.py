"""Run a recipe's commands on a Linux gateway over paramiko exec channels.

One SSH session per device, reused for all its commands; no interactive shell. Host keys
are verified against a known_hosts file: an unknown key is refused unless the user asked to
trust on first use, and a changed key is always refused. Every failure becomes a
:class:`CollectError` with a reason a user can act on; secrets never appear in one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from smmcheck.collect.session import (
    CollectError,
    Connected,
    RawOutput,
    Reach,
    RetryableConnectError,
    dropped,
    fingerprint,
    hung,
    server_version,
)
from smmcheck.errors import SmmcheckError
from smmcheck.inventory import Device, SecretRef
from smmcheck.recipes import Command, Recipe
from smmcheck.snapshot import HostKey


def run_recipe(
    device: Device, recipe: Recipe, reach: Reach, on_output: Callable[[RawOutput], None]
) -> Connected:
    """Connect, run every command of ``recipe``, hand each output to ``on_output``."""
    client = reach.connect(device.host, device.port, lambda: _connect(device, reach))
    try:
        transport = client.get_transport()
        assert transport is not None  # connected
        connected = Connected(verified_key(transport), server_version(transport.remote_version))
        for command in recipe.commands:
            on_output(_run(client, command))
        return connected
    finally:
        client.close()


def credentials(device: Device) -> tuple[str | None, str | None]:
    """The username and password, resolved from their references at connect time."""
    username = (
        device.username.resolve() if isinstance(device.username, SecretRef) else device.username
    )
    return username, device.password.resolve() if device.password else None


def key_file(device: Device) -> str | None:
    """The device's private key file, ``~`` expanded."""
    return str(Path(device.key_file).expanduser()) if device.key_file else None


def open_socket(device: Device, reach: Reach) -> socket.socket:
    """A TCP connection to the device with Nagle's algorithm off.

    paramiko leaves it on, and every channel request after a session's first then waits
    for a delayed ACK (~40 ms on Linux): with six commands per gateway that alone halved
    the collection rate in bench/bench_collect.py.
    """
    sock = socket.create_connection((device.host, device.port), timeout=reach.connect_timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _connect(device: Device, reach: Reach) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    # Nothing is loaded into the client: every server key goes to the run's shared policy.
    client.set_missing_host_key_policy(reach.verifier)
    username, password = credentials(device)
    started = time.monotonic()
    sock: socket.socket | None = None
    try:
        sock = open_socket(device, reach)
        client.connect(
            device.host,
            port=device.port,
            username=username,
            password=password,
            key_filename=key_file(device),
            allow_agent=True,
            look_for_keys=False,
            sock=sock,
            timeout=reach.connect_timeout,
            banner_timeout=reach.connect_timeout,
            auth_timeout=reach.connect_timeout,
        )
    except SmmcheckError:
        client.close()
        raise
    except Exception as exc:
        client.close()
        if sock is not None:
            sock.close()
        raise connect_error(exc, device, reach, time.monotonic() - started) from None
    return client


def connect_error(exc: BaseException, device: Device, reach: Reach, elapsed: float) -> CollectError:
    """One line for a failed connect; retryable when the failure may pass by itself."""
    # netmiko wraps paramiko's and the socket's exceptions in its own, with a multi-line
    # message: judge by the original one.
    while exc.__context__ is not None and type(exc).__module__.startswith("netmiko"):
        exc = exc.__context__
    target = f"{device.host}:{device.port}"
    text = str(exc)
    if isinstance(exc, paramiko.BadHostKeyException) or "does not match" in text:
        return CollectError(
            f"host key of {target} has CHANGED since it was recorded in"
            f" {reach.host_keys.known_hosts}: refused"
        )
    if isinstance(exc, paramiko.AuthenticationException) or "Authentication" in text:
        return CollectError("authentication failed")
    if "not found in known_hosts" in text:
        return CollectError(
            f"unknown host key for {target}: refused (verify it and add it to the"
            " known_hosts file, or pass --accept-new-host-keys to trust on first use)"
        )
    if isinstance(exc, TimeoutError | paramiko.ssh_exception.NoValidConnectionsError) and (
        elapsed >= reach.connect_timeout * 0.9
    ):
        return CollectError(f"connect timeout after {reach.connect_timeout:g} s")
    if "protocol banner" in text or "No existing session" in text:
        if elapsed >= reach.connect_timeout * 0.9:
            return CollectError(
                f"connect timeout: {target} sent no SSH banner within {reach.connect_timeout:g} s"
            )
        # Dropped before the banner: typically sshd's MaxStartups queue. Worth another try.
        return RetryableConnectError(f"{target} closed the connection before the SSH banner")
    if (
        isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError | ConnectionRefusedError)
        or "Connection refused" in text
    ):
        return RetryableConnectError(f"connection refused by {target}")
    if isinstance(exc, ConnectionResetError):
        return RetryableConnectError(f"connection reset by {target}")
    if isinstance(exc, OSError):
        return CollectError(f"cannot connect to {target}: {exc.strerror or exc}")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return CollectError(f"SSH error from {target}: {first}")


def verified_key(transport: paramiko.Transport) -> HostKey:
    """The fingerprint of the server's host key (verified by the policy while connecting)."""
    key = transport.get_remote_server_key()
    return fingerprint(key.get_name(), key.asbytes())


def _run(client: paramiko.SSHClient, command: Command) -> RawOutput:
    started = time.time()
    deadline = time.monotonic() + command.timeout
    chunks: list[bytes] = []
    errors: list[bytes] = []
    try:
        transport = client.get_transport()
        assert transport is not None  # connected
        channel = transport.open_session(timeout=command.timeout)
        channel.settimeout(0.2)  # wake up to check the deadline
        channel.exec_command(command.command)
        # Read to the end of the output, not just until the exit status arrives: servers
        # may send the status before the last of the data.
        while True:
            if time.monotonic() > deadline:
                raise hung(command)
            try:
                data = channel.recv(65536)
            except TimeoutError:
                _drain(channel, errors)
                continue
            if not data:
                break
            chunks.append(data)
            _drain(channel, errors)
        if not channel.status_event.wait(max(0.0, deadline - time.monotonic())):
            raise hung(command)
        status = channel.recv_exit_status()
        _drain(channel, errors)
        channel.close()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise dropped(command, exc) from None
    if status == -1:
        # paramiko reports -1 when the channel closed without the server sending an exit
        # status: the session went away while the command was still running.
        raise dropped(command, "the session closed before the command finished")
    return RawOutput(command, started, time.time(), b"".join(chunks), status, b"".join(errors))


def _drain(channel: paramiko.Channel, errors: list[bytes]) -> None:
    # stderr shares the channel's flow-control window: unread, it could stall the output.
    while channel.recv_stderr_ready():
        errors.append(channel.recv_stderr(65536))
