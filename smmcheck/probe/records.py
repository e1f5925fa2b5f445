"""Read the server's first TLS message from the raw bytes it sent: pure, no I/O.

Why parse bytes ourselves when OpenSSL already does: OpenSSL reports *its own* verdict on the
handshake, and that verdict mixes two questions. A server that answers a TLS 1.2 ClientHello
with a TLS 1.2 ServerHello and then demands a client certificate, or a TLS 1.0 server whose
SHA-1 signature our client dislikes, ends in an ``SSLError`` too, yet the server *did* accept
the version. The first record the server sends settles it: a ServerHello names the version
and cipher suite it chose (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3), an alert says it refused
(RFC 8446 §6), and anything else is not TLS at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# TLS wire versions (RFC 8446 Appendix B.1 and its predecessors) -> the names smmcheck reports.
VERSION_NAMES = {
    0x0300: "SSLv3",
    0x0301: "TLSv1.0",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
}

# Alert descriptions (RFC 8446 §6, IANA "TLS Alerts" registry).
ALERT_NAMES = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    47: "illegal_parameter",
    48: "unknown_ca",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}

_CHANGE_CIPHER_SPEC, _ALERT, _HANDSHAKE, _APPLICATION_DATA = 20, 21, 22, 23
_SERVER_HELLO = 2
_SUPPORTED_VERSIONS = 43  # extension that carries the real version from TLS 1.3 on


@dataclass(frozen=True)
class ServerHello:
    """The server chose ``version`` and ``cipher_suite`` (the IANA two-byte code)."""

    version: str
    cipher_suite: int


@dataclass(frozen=True)
class Alert:
    """The server answered with an alert instead of a ServerHello."""

    description: str


@dataclass(frozen=True)
class NotTls:
    """The server's first bytes are not a TLS record."""

    preview: str


@dataclass(frozen=True)
class NoAnswer:
    """No complete first message: the server sent nothing, or too little to read."""


ServerAnswer = ServerHello | Alert | NotTls | NoAnswer


def read_server_answer(data: bytes) -> ServerAnswer:
    """Classify the first message in the bytes a server sent in reply to a ClientHello."""
    if not data:
        return NoAnswer()
    if not _looks_like_record(data):
        return NotTls(_preview(data))
    kind = data[0]
    if kind == _ALERT:
        payload = _record_payloads(data, _ALERT)
        if len(payload) < 2:
            return NoAnswer()
        return Alert(ALERT_NAMES.get(payload[1], f"alert {payload[1]}"))
    if kind != _HANDSHAKE:
        return NotTls(_preview(data))
    return _server_hello(_record_payloads(data, _HANDSHAKE))


def _looks_like_record(data: bytes) -> bool:
    # A record starts with its content type, then the major version 3. The minor version is
    # 0..4 (SSLv3 .. the fixed 0x0303 of TLS 1.3); anything else is another protocol talking.
    if data[0] not in (_CHANGE_CIPHER_SPEC, _ALERT, _HANDSHAKE, _APPLICATION_DATA):
        return False
    return len(data) < 3 or (data[1] == 3 and data[2] <= 4)


def _record_payloads(data: bytes, kind: int) -> bytes:
    """The concatenated payloads of the leading records of one content type (a handshake
    message may be split over several records)."""
    payload = bytearray()
    offset = 0
    while offset + 5 <= len(data) and data[offset] == kind:
        length = int.from_bytes(data[offset + 3 : offset + 5], "big")
        payload += data[offset + 5 : offset + 5 + length]
        offset += 5 + length
    return bytes(payload)


def _server_hello(handshake: bytes) -> ServerAnswer:
    if len(handshake) < 4:
        return NoAnswer()
    if handshake[0] != _SERVER_HELLO:
        return NotTls(f"handshake message type {handshake[0]} instead of a ServerHello")
    body = handshake[4 : 4 + int.from_bytes(handshake[1:4], "big")]
    # legacy_version (2), random (32), session id (1 + n), cipher suite (2), compression (1)
    if len(body) < 35 or len(body) < 35 + body[34] + 3:
        return NoAnswer()
    version = int.from_bytes(body[0:2], "big")
    offset = 35 + body[34]
    cipher_suite = int.from_bytes(body[offset : offset + 2], "big")
    offset += 3
    if offset + 2 <= len(body):
        end = min(len(body), offset + 2 + int.from_bytes(body[offset : offset + 2], "big"))
        offset += 2
        while offset + 4 <= end:
            ext_type = int.from_bytes(body[offset : offset + 2], "big")
            ext_length = int.from_bytes(body[offset + 2 : offset + 4], "big")
            if ext_type == _SUPPORTED_VERSIONS and ext_length == 2:
                version = int.from_bytes(body[offset + 4 : offset + 6], "big")
            offset += 4 + ext_length
    return ServerHello(VERSION_NAMES.get(version, f"0x{version:04x}"), cipher_suite)


def _preview(data: bytes) -> str:
    """The first bytes, printable, for a one-line message (``HTTP/1.1 400 …``)."""
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in data[:24])
    return text + ("…" if len(data) > 24 else "")
