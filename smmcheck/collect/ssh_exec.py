"""Run a recipe's commands on a Linux gateway over paramiko exec channels.

One SSH session per device, reused for all its commands; no interactive shell. Host keys
are verified against a known_hosts file: an unknown key is refused unless the user asked to
trust on first use, and a changed key is always refused. Every failure becomes a
:class:`CollectError` with a reason a user can act on; secrets never appear in one.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paramiko

from smmcheck.inventory import Device, SecretRef
from smmcheck.recipes import Command, Recipe
from smmcheck.snapshot import HostKey

CONNECT_TIMEOUT = 10.0


class CollectError(Exception):
    """A device that could not be collected, and why (one line, no secrets)."""


@dataclass(frozen=True)
class RawOutput:
    """What one command returned."""

    command: Command
    started: float
    finished: float
    data: bytes
    exit_status: int | None


@dataclass(frozen=True)
class HostKeyPolicy:
    """Where host keys are checked, and whether unknown ones may be learned."""

    known_hosts: Path
    accept_new: bool = False


def fingerprint(key: paramiko.PKey) -> HostKey:
    """The OpenSSH-style SHA256 fingerprint of a host key."""
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return HostKey(type=key.get_name(), sha256=f"SHA256:{digest}")


def run_recipe(
    device: Device, recipe: Recipe, policy: HostKeyPolicy, on_output: Callable[[RawOutput], None]
) -> HostKey:
    """Connect, run every command of ``recipe``, hand each output to ``on_output``."""
    client = paramiko.SSHClient()
    try:
        host_key = _connect(client, device, policy)
        for command in recipe.commands:
            on_output(_run(client, command))
        return host_key
    finally:
        client.close()


def _connect(client: paramiko.SSHClient, device: Device, policy: HostKeyPolicy) -> HostKey:
    if policy.known_hosts.is_file():
        client.load_host_keys(str(policy.known_hosts))
    client.set_missing_host_key_policy(
        paramiko.AutoAddPolicy() if policy.accept_new else paramiko.RejectPolicy()
    )
    password = device.password.resolve() if device.password else None
    username = (
        device.username.resolve() if isinstance(device.username, SecretRef) else device.username
    )
    try:
        client.connect(
            device.host,
            port=device.port,
            username=username,
            password=password,
            key_filename=str(Path(device.key_file).expanduser()) if device.key_file else None,
            allow_agent=True,
            look_for_keys=False,
            timeout=CONNECT_TIMEOUT,
            banner_timeout=CONNECT_TIMEOUT,
            auth_timeout=CONNECT_TIMEOUT,
        )
    except paramiko.BadHostKeyException:
        raise CollectError(
            f"host key of {device.host}:{device.port} has CHANGED since it was"
            f" recorded in {policy.known_hosts}: refused"
        ) from None
    except paramiko.AuthenticationException:
        raise CollectError("authentication failed") from None
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise CollectError(
                f"unknown host key for {device.host}:{device.port}: refused"
                " (verify it and add it to the known_hosts file, or pass"
                " --accept-new-host-keys to trust on first use)"
            ) from None
        raise CollectError(f"SSH error: {exc}") from None
    except TimeoutError:
        raise CollectError(f"connect timeout after {CONNECT_TIMEOUT:.0f} s") from None
    except (paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError):
        raise CollectError(f"connection refused by {device.host}:{device.port}") from None
    except OSError as exc:
        raise CollectError(f"cannot connect: {exc.strerror or exc}") from None
    transport = client.get_transport()
    assert transport is not None  # connected above
    key = transport.get_remote_server_key()
    if policy.accept_new:
        # Trust on first use: remember the key so the next run verifies it.
        policy.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        client.save_host_keys(str(policy.known_hosts))
    return fingerprint(key)


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
                raise CollectError(
                    f"command '{command.name}' hung past its {command.timeout:g} s timeout"
                )
            time.sleep(0.005)
        status = channel.recv_exit_status() if channel.exit_status_ready() else None
    except TimeoutError:
        raise CollectError(
            f"command '{command.name}' hung past its {command.timeout:g} s timeout"
        ) from None
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise CollectError(f"connection dropped during '{command.name}': {exc}") from None
    if status is None:
        raise CollectError(f"connection dropped during '{command.name}' (no exit status)")
    return RawOutput(command, started, time.time(), b"".join(chunks), status)
