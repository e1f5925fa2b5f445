"""One TLS handshake, pinned to one protocol version, and nothing more.

The client offers everything this machine's OpenSSL can offer for the version (every cipher
at security level 0), so that a refusal is the server's and not our client's: at its default
level OpenSSL 3 will not even finish a TLS 1.0/1.1 handshake (SHA-1 signatures), and a
TLS 1.2 server with only old cipher suites would look like it refuses TLS 1.2. The handshake
runs over memory buffers so the server's own bytes can be read (see
:mod:`smmcheck.probe.records`). No application data is ever sent: after the handshake the
client sends close_notify and closes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from smmcheck.probe.records import NoAnswer, ServerAnswer, read_server_answer

TlsVersion = Literal["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
VERSIONS: tuple[TlsVersion, ...] = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")

# Every cipher OpenSSL knows (except the eNULL ones), at the level that allows SHA-1 and short
# keys. TLS 1.3 suites are configured apart in OpenSSL and keep their defaults.
CLIENT_CIPHERS = "ALL:@SECLEVEL=0"

_OPENSSL_VERSIONS = {
    "TLSv1.0": (ssl.TLSVersion.TLSv1, ssl.HAS_TLSv1),
    "TLSv1.1": (ssl.TLSVersion.TLSv1_1, ssl.HAS_TLSv1_1),
    "TLSv1.2": (ssl.TLSVersion.TLSv1_2, ssl.HAS_TLSv1_2),
    "TLSv1.3": (ssl.TLSVersion.TLSv1_3, ssl.HAS_TLSv1_3),
}
_KEEP = 16384  # bytes of the server's answer kept for reading its first message


@dataclass(frozen=True)
class ClientProfile:
    """A client context pinned to one version, or why this machine cannot offer it."""

    version: TlsVersion
    context: ssl.SSLContext | None
    unavailable: str | None = None
    cipher_names: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Handshake:
    """What one attempt showed: the server's first answer, and how far our side got."""

    connected: bool
    answer: ServerAnswer = field(default_factory=NoAnswer)
    completed: bool = False
    cipher: str | None = None
    certificate: bytes | None = None
    problem: str | None = None  # one line: why the handshake did not complete


def client_profiles() -> dict[TlsVersion, ClientProfile]:
    """One client profile per TLS version. Call from one thread: pinning TLS 1.0/1.1 emits a
    DeprecationWarning that is silenced here, and warning filters are process-global."""
    return {version: _profile(version) for version in VERSIONS}


def _profile(version: TlsVersion) -> ClientProfile:
    pinned, built_in = _OPENSSL_VERSIONS[version]
    if not built_in:
        return ClientProfile(version, None, f"{ssl.OPENSSL_VERSION} was built without it")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we record what the server offers, not whom to trust
    try:
        context.set_ciphers(CLIENT_CIPHERS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = pinned
            context.maximum_version = pinned
    except (ValueError, ssl.SSLError) as exc:
        return ClientProfile(version, None, _describe(exc, 0))
    # Build a ClientHello in memory, without touching the network: OpenSSL refuses here when
    # it has no cipher or protocol left for the version (NO_CIPHERS_AVAILABLE and the like).
    try:
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO()).do_handshake()
    except ssl.SSLWantReadError:
        pass
    except ssl.SSLError as exc:
        return ClientProfile(version, None, _describe(exc, 0))
    names = {c["id"] & 0xFFFF: c["name"] for c in context.get_ciphers()}
    return ClientProfile(version, context, cipher_names=names)


def handshake(host: str, port: int, profile: ClientProfile, timeout: float) -> Handshake:
    """Connect, run the TLS handshake of ``profile`` within ``timeout`` seconds, close."""
    if profile.context is None:
        raise ValueError(f"cannot offer {profile.version}")
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return Handshake(connected=False, problem=_describe(exc, timeout))
    received = bytearray()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = profile.context.wrap_bio(incoming, outgoing, server_hostname=_server_name(host))
    with sock:
        try:
            _drive(sock, tls, incoming, outgoing, received, deadline)
        except OSError as exc:  # ssl.SSLError and socket timeouts are OSErrors too
            _send(sock, outgoing)  # our alert, if any: the server then logs why we left
            return Handshake(
                connected=True,
                answer=read_server_answer(bytes(received)),
                problem=_describe(exc, timeout),
            )
        cipher = tls.cipher()
        certificate = tls.getpeercert(binary_form=True)
        with contextlib.suppress(ssl.SSLError):  # SSLWantReadError: the server's reply
            tls.unwrap()  # writes our close_notify
        _send(sock, outgoing)
    return Handshake(
        connected=True,
        answer=read_server_answer(bytes(received)),
        completed=True,
        cipher=cipher[0] if cipher else None,
        certificate=certificate,
    )


def _drive(
    sock: socket.socket,
    tls: ssl.SSLObject,
    incoming: ssl.MemoryBIO,
    outgoing: ssl.MemoryBIO,
    received: bytearray,
    deadline: float,
) -> None:
    while True:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        else:
            sock.sendall(outgoing.read())  # our Finished
            return
        if incoming.eof:
            raise ConnectionAbortedError("the server closed the connection")
        sock.sendall(outgoing.read())
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        data = sock.recv(16384)
        if data:
            received.extend(data[: max(0, _KEEP - len(received))])
            incoming.write(data)
        else:
            incoming.write_eof()


def _send(sock: socket.socket, outgoing: ssl.MemoryBIO) -> None:
    with contextlib.suppress(OSError):  # the server is gone already: nothing to tell it
        sock.sendall(outgoing.read())


def _server_name(host: str) -> str | None:
    """SNI for names (servers may pick a certificate or refuse by name), none for IPs."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


def _describe(exc: BaseException, timeout: float) -> str:
    """One line for a failed connect or handshake."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ssl.SSLEOFError | ConnectionAbortedError):
        return "the server closed the connection"
    if isinstance(exc, ConnectionResetError):
        return "the server reset the connection"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror}"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
