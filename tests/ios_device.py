"""An SSH server whose shell behaves like a Cisco IOS CLI, for the netmiko collector's tests.

It is a real SSH server (paramiko's server side) on 127.0.0.1: key exchange, host key,
password authentication and an interactive shell with an IOS prompt, ``terminal length 0``,
``terminal width``, ``enable`` with a secret, ``show`` commands answered from fixture text,
and IOS's ``% Invalid input`` for anything else. netmiko's ``cisco_ios`` driver runs against
it unchanged. Every line the client sends is recorded, so tests can prove that nothing
outside the recipe (and netmiko's session set-up) ever reaches a device.

Faults are switched on per server, for the fault-injection tests: a login that lands in
user mode with a different enable secret, commands the account may not run (a privilege
level 2-14 user has a ``#`` prompt but a limited command set), a running-config without
its final ``end``, a connection that drops half way through an output, and a command that
never returns.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

INVALID = "% Invalid input detected at '^' marker.\r\n"


@dataclass
class Faults:
    """What should go wrong on this device (nothing, by default)."""

    truncate_config: bool = False  # running-config loses its last lines, `end` included
    drop_during: str | None = None  # close the connection half way through this command
    hang_on: str | None = None  # this command never answers
    denied: set[str] = field(default_factory=set)  # answered with `% Invalid input`


@dataclass
class IosDevice:
    """One IOS-like device: its identity, credentials, outputs and faults."""

    hostname: str
    username: str
    password: str
    outputs: dict[str, str]  # command -> output, as the device prints it
    enable_secret: str | None = None  # None: the login lands in privileged mode (#)
    faults: Faults = field(default_factory=Faults)
    received: list[str] = field(default_factory=list)  # every line sent to the shell
    sessions: int = 0


class _Auth(paramiko.ServerInterface):
    def __init__(self, device: IosDevice) -> None:
        self.device = device
        self.shell = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        if (username, password) == (self.device.username, self.device.password):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell.set()
        return True


class IosServer:
    """Serve one :class:`IosDevice` on a loopback port until :meth:`close`."""

    def __init__(self, device: IosDevice, host_key: paramiko.PKey) -> None:
        self.device = device
        self.host_key = host_key
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop listening (sessions in progress end with their clients)."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.host_key)
        auth = _Auth(self.device)
        try:
            transport.start_server(server=auth)
            channel = transport.accept(timeout=10)
            if channel is None or not auth.shell.wait(timeout=10):
                return
            self.device.sessions += 1
            _Shell(self.device, channel).run()
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()


class _Shell:
    """The CLI: read a line, echo it, answer it, print the prompt."""

    def __init__(self, device: IosDevice, channel: paramiko.Channel) -> None:
        self.device = device
        self.channel = channel
        self.privileged = device.enable_secret is None

    def prompt(self) -> str:
        return self.device.hostname + ("#" if self.privileged else ">")

    def run(self) -> None:
        self.channel.sendall(f"\r\n{self.prompt()}".encode())
        while True:
            line = self._readline(echo=True)
            if line is None:
                return
            self.device.received.append(line)
            if not self._answer(line.strip()):
                return

    def _readline(self, *, echo: bool) -> str | None:
        buffer = b""
        while True:
            data = self.channel.recv(1)
            if not data:
                return None
            if data in (b"\r", b"\n"):
                if data == b"\r":
                    # swallow the \n of a \r\n pair if it is already there
                    self.channel.settimeout(0.05)
                    with contextlib.suppress(TimeoutError, socket.timeout):
                        nxt = self.channel.recv(1)
                        if nxt and nxt != b"\n":
                            buffer += nxt
                    self.channel.settimeout(None)
                self.channel.sendall(b"\r\n")
                return buffer.decode(errors="replace")
            buffer += data
            if echo:
                self.channel.sendall(data)

    def _answer(self, command: str) -> bool:
        faults = self.device.faults
        if command in ("exit", "logout", "quit"):
            self.channel.close()
            return False
        if command == faults.hang_on:
            time.sleep(3600)
        if command == "enable":
            return self._enable()
        if command.startswith(("terminal length", "terminal width", "terminal no monitor")):
            self.channel.sendall(self.prompt().encode())
            return True
        if command == "":
            self.channel.sendall(self.prompt().encode())
            return True
        output = self.device.outputs.get(command)
        needs_enable = command.startswith("show running-config")
        if output is None or command in faults.denied or (needs_enable and not self.privileged):
            self.channel.sendall(f"{' ' * (len(self.prompt()) + 5)}^\r\n{INVALID}".encode())
            self.channel.sendall(self.prompt().encode())
            return True
        text = output.replace("\r\n", "\n")
        if command.startswith("show running-config") and faults.truncate_config:
            text = "\n".join(text.rstrip("\n").splitlines()[:-3]) + "\n"
        payload = text.replace("\n", "\r\n").encode()
        if command == faults.drop_during:
            self.channel.sendall(payload[: len(payload) // 2])
            time.sleep(0.2)
            self.channel.get_transport().close()
            return False
        self.channel.sendall(payload)
        self.channel.sendall(self.prompt().encode())
        return True

    def _enable(self) -> bool:
        if self.privileged:
            self.channel.sendall(self.prompt().encode())
            return True
        self.channel.sendall(b"Password: ")
        secret = self._readline(echo=False)
        if secret is None:
            return False
        # Recorded as a marker only: the secret itself is what tests check never leaks.
        self.device.received.append("<enable secret>")
        if secret == self.device.enable_secret:
            self.privileged = True
        else:
            self.channel.sendall(b"% Access denied\r\n\r\n")
        self.channel.sendall(self.prompt().encode())
        return True


def load_host_key(path: Path) -> paramiko.PKey:
    """An ed25519 host key written by ssh-keygen."""
    return paramiko.Ed25519Key(filename=str(path))
