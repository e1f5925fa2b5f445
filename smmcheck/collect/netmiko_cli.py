"""Run a recipe's commands on a network operating system's CLI through netmiko.

netmiko's own driver for the platform (``cisco_ios``, ``cisco_nxos``) does the session
set-up it always does: find the prompt, ``terminal width``, ``terminal length 0`` (paging
off). Beyond that only two things are ever sent: ``enable`` with its secret when the recipe
needs privileged mode, and the recipe's read-only commands. Host keys are verified by
paramiko underneath, against the same known_hosts file as the Linux collector.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from smmcheck.collect.session import (
    CollectError,
    Connected,
    RawOutput,
    Reach,
    dropped,
    hung,
    server_version,
)
from smmcheck.collect.ssh_exec import (
    connect_error,
    credentials,
    key_file,
    open_socket,
    verified_key,
)
from smmcheck.errors import SmmcheckError
from smmcheck.inventory import Device
from smmcheck.recipes import Recipe


def run_recipe(
    device: Device, recipe: Recipe, reach: Reach, on_output: Callable[[RawOutput], None]
) -> Connected:
    """Connect, enter enable mode if the recipe needs it, run every command."""
    connection = reach.connect(device.host, device.port, lambda: _connect(device, recipe, reach))
    connection.channel = _eof_aware(connection)
    try:
        transport = connection.remote_conn_pre.get_transport()
        connected = Connected(verified_key(transport), server_version(transport.remote_version))
        if recipe.enable:
            _enable(connection, device)
        for command in recipe.commands:
            started = time.time()
            try:
                text = connection.send_command(
                    command.command,
                    read_timeout=command.timeout,
                    strip_prompt=True,
                    strip_command=True,
                )
            except Exception as exc:
                raise _command_error(exc, command) from None
            on_output(RawOutput(command, started, time.time(), str(text).encode(), None))
        return connected
    finally:
        _close(connection)


def _connect(device: Device, recipe: Recipe, reach: Reach) -> Any:
    from netmiko import ConnectHandler

    username, password = credentials(device)
    started = time.monotonic()
    connection: Any = None
    try:
        connection = ConnectHandler(
            device_type=recipe.netmiko_device_type,
            host=device.host,
            port=device.port,
            username=username or "",
            password=password or "",
            use_keys=device.key_file is not None,
            key_file=key_file(device),
            allow_agent=True,
            system_host_keys=False,
            alt_host_keys=False,
            conn_timeout=reach.connect_timeout,
            auth_timeout=reach.connect_timeout,
            banner_timeout=reach.connect_timeout,
            session_log=None,
            auto_connect=False,
        )
        # Host keys: the run's shared known_hosts policy, as for the Linux collector
        # (netmiko's own choice is reject-or-auto-add, and auto-add rewrites the file from
        # each session's stale copy). The socket has Nagle's algorithm off.
        connection.key_policy = reach.verifier
        connection.sock = open_socket(device, reach)
        connection._open()
    except SmmcheckError:
        _abandon(connection)
        raise
    except Exception as exc:
        _abandon(connection)
        raise connect_error(exc, device, reach, time.monotonic() - started) from None
    return connection


def _abandon(connection: Any) -> None:
    # A connect that failed half way: close what exists, quietly.
    if connection is None:
        return
    with contextlib.suppress(Exception):
        connection.disconnect()
    if connection.sock is not None:
        connection.sock.close()


def _eof_aware(connection: Any) -> Any:
    """netmiko's SSH channel, made to notice a connection closed by the device.

    netmiko learns of a closed channel only when it reads an empty buffer, which paramiko
    never reports as ready; a device that drops the session mid-output would otherwise
    look like a command hung until its timeout (minutes for a running-config).
    """
    from netmiko.channel import SSHChannel
    from netmiko.exceptions import ReadException

    class EofAwareChannel(SSHChannel):
        def read_buffer(self) -> str:
            remote = self.remote_conn
            if remote is not None and not remote.recv_ready():
                transport = remote.get_transport()
                if remote.closed or remote.eof_received or not transport.is_active():
                    raise ReadException("the device closed the connection")
            return str(super().read_buffer())

    return EofAwareChannel(connection.remote_conn, connection.encoding)


def _enable(connection: Any, device: Device) -> None:
    if connection.check_enable_mode():
        return  # the account logs in privileged (privilege 15, or a `#` prompt)
    if device.enable is None:
        raise CollectError(
            "insufficient privilege: the login lands in user mode (>) and the inventory"
            " gives no enable secret"
        )
    connection.secret = device.enable.resolve()
    try:
        connection.enable()
    except Exception:
        raise CollectError(
            "insufficient privilege: enable failed (the enable secret was refused)"
        ) from None
    finally:
        connection.secret = ""  # not kept in memory longer than needed


def _command_error(exc: Exception, command: Any) -> CollectError:
    from netmiko.exceptions import ReadException, ReadTimeout

    if isinstance(exc, ReadTimeout):
        return hung(command)
    if isinstance(exc, ReadException | OSError | EOFError):
        return dropped(command, exc)
    return CollectError(f"command '{command.name}' failed: {type(exc).__name__}")


def _close(connection: Any) -> None:
    # A dropped or hung session must not turn into a second error while closing.
    try:
        connection.disconnect()
    except Exception:  # best effort: the session is already broken
        transport = connection.remote_conn_pre.get_transport()
        if transport is not None:
            transport.close()
