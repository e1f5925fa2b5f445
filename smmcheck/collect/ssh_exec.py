"""Run a recipe's commands on a Linux gateway over paramiko exec channels.

One SSH session per device, reused for all its commands; no interactive shell. Host keys
are verified against a known_hosts file: an unknown key is refused unless the user asked to
trust on first use, and a changed key is always refused. Every failure becomes a
:class:`CollectError` with a reason a user can act on; secrets never appear in one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from smmcheck.collect.session import (
    CollectError,
    RawOutput,
    Reach,
    RetryableConnectError,
    dropped,
    fingerprint,
    hung,
)
from smmcheck.inventory import Device, SecretRef
from smmcheck.recipes import Command, Recipe
from smmcheck.snapshot import HostKey


def run_recipe(
    device: Device, recipe: Recipe, reach: Reach, on_output: Callable[[RawOutput], None]
) -> HostKey:
    """Connect, run every command of ``recipe``, hand each output to ``on_output``."""
    client = reach.connect(device.host, device.port, lambda: _connect(device, reach))
    try:
        transport = client.get_transport()
        assert transport is not None  # connected
        host_key = verified_key(transport, device, reach)
        for command in recipe.commands:
            on_output(_run(client, command))
        return host_key
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


def _connect(device: Device, reach: Reach) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    if reach.host_keys.known_hosts.is_file():
        client.load_host_keys(str(reach.host_keys.known_hosts))
    client.set_missing_host_key_policy(
        paramiko.AutoAddPolicy() if reach.host_keys.accept_new else paramiko.RejectPolicy()
    )
    username, password = credentials(device)
    started = time.monotonic()
    try:
        client.connect(
            device.host,
            port=device.port,
            username=username,
            password=password,
            key_filename=key_file(device),
            allow_agent=True,
            look_for_keys=False,
            timeout=reach.connect_timeout,
            banner_timeout=reach.connect_timeout,
            auth_timeout=reach.connect_timeout,
        )
    except Exception as exc:
        client.close()
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


def verified_key(transport: paramiko.Transport, device: Device, reach: Reach) -> HostKey:
    """The server's (already verified) host key; recorded when trusting on first use."""
    key = transport.get_remote_server_key()
    if reach.host_keys.accept_new:
        # The entry names the host as the inventory does: that is what the next run checks.
        port = device.port
        entry = device.host if port == 22 else f"[{device.host}]:{port}"
        reach.host_keys.save(lambda path: _remember(path, entry, key))
    return fingerprint(key.get_name(), key.asbytes())


def _remember(path: str, entry: str, key: paramiko.PKey) -> None:
    # Re-read the file under the policy's lock: other sessions may have learned keys since
    # this one loaded it, and a plain save would drop them.
    keys = paramiko.HostKeys()
    if Path(path).is_file():
        keys.load(path)
    if keys.lookup(entry) is None:
        keys.add(entry, key.get_name(), key)
        keys.save(path)


def _run(client: paramiko.SSHClient, command: Command) -> RawOutput:
    started = time.time()
    try:
        _stdin, stdout, _stderr = client.exec_command(command.command, timeout=command.timeout)
        channel = stdout.channel
        chunks: list[bytes] = []
        deadline = time.monotonic() + command.timeout
        while True:
            if channel.recv_ready():
                chunks.append(channel.recv(65536))
                continue
            if channel.exit_status_ready() and not channel.recv_ready():
                break
            if channel.closed and not channel.recv_ready():
                break
            if time.monotonic() > deadline:
                raise hung(command)
            time.sleep(0.005)
        status = channel.recv_exit_status() if channel.exit_status_ready() else None
    except TimeoutError:
        raise hung(command) from None
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise dropped(command, exc) from None
    if status is None or status == -1:
        # paramiko reports -1 when the channel closed without the server sending an exit
        # status: the session went away while the command was still running.
        raise dropped(command, "the session closed before the command finished")
    return RawOutput(command, started, time.time(), b"".join(chunks), status)
