"""Which TLS versions an endpoint really accepts, and the cipher suite each one gets.

A configuration can say ``tls_version tlsv1.2`` and the device can still accept TLS 1.0:
the handshake cannot lie. :func:`probe_tls` offers each version on its own and records the
server's answer. Built for OT networks, it is read-only and gentle:

* nothing but TLS handshakes is sent, and each connection closes right after;
* handshakes to one host run one after the other, at most ``per_host_rate`` per second;
  different hosts run in parallel on a small thread pool;
* a port that gives no TLS answer to TLS 1.2 and 1.3 gets no more ClientHellos (a Modbus/TCP
  device probed by mistake sees two unexpected packets, not four).

Missing evidence is never compliance: a version is ``accepted=False`` only when the server
refused it (an alert, or a ServerHello for another version). When this machine's OpenSSL
cannot offer a version, or the server gave no answer, it is ``None`` (unknown), with the
reason.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.probe.handshake import (
    VERSIONS,
    ClientProfile,
    Handshake,
    TlsVersion,
    client_profiles,
    handshake,
)
from smmcheck.probe.records import Alert, NotTls, ServerHello

SCHEMA = "smmcheck.probe.tls/v1"

# The versions every TLS service speaks come first: see the module docstring.
_PROBE_ORDER: tuple[TlsVersion, ...] = ("TLSv1.2", "TLSv1.3", "TLSv1.1", "TLSv1.0")
_HOST = re.compile(r"[A-Za-z0-9._-]+")


class VersionResult(Frozen):
    """One protocol version at one endpoint: accepted (True), refused (False) or unknown
    (None). ``reason`` says why for False and None, and for True when the server chose the
    version but the handshake did not complete (e.g. it requires a client certificate)."""

    version: TlsVersion
    accepted: bool | None
    cipher: str | None = None
    reason: str | None = None


class CertificateInfo(Frozen):
    """The server certificate's key and signature, when ``cryptography`` is installed."""

    key_type: str
    key_bits: int | None
    signature_algorithm: str


class TlsEndpointResult(Frozen):
    """Everything one endpoint showed. ``error`` is set when it is unreachable or not TLS."""

    host: str
    port: int
    reachable: bool
    error: str | None = None
    versions: tuple[VersionResult, ...]
    certificate: CertificateInfo | None = None

    @property
    def endpoint(self) -> str:
        """``host:port``, with IPv6 addresses in brackets."""
        return format_endpoint(self.host, self.port)

    @property
    def complete(self) -> bool:
        """Whether every version got a definite answer."""
        return self.error is None and all(v.accepted is not None for v in self.versions)


def parse_endpoint(text: str) -> tuple[str, int]:
    """``host:port`` or ``[ipv6]:port`` -> (host, port); a bad one is a UsageError."""
    match = re.fullmatch(r"\[([^\[\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text.strip())
    if match is None:
        hint = "write IPv6 addresses in brackets: [::1]:8883" if text.count(":") > 1 else None
        raise UsageError(
            f"bad endpoint '{text}'",
            why="expected HOST:PORT, e.g. broker.plant.local:8883",
            hint=hint,
        )
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not (_is_ipv6(host) if match.group(1) else _HOST.fullmatch(host)):
        raise UsageError(f"bad endpoint '{text}'", why=f"'{host}' is not a host name or address")
    if not 1 <= port <= 65535:
        raise UsageError(f"bad endpoint '{text}'", why="the port must be 1 to 65535")
    return host, port


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.partition("%")[0])  # fe80::1%eth0: a link-local scope
    except ValueError:
        return False
    return True


def format_endpoint(host: str, port: int) -> str:
    """The inverse of :func:`parse_endpoint`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe_tls(
    endpoints: Iterable[tuple[str, int]],
    *,
    timeout: float = 5.0,
    per_host_rate: float = 5.0,
    workers: int = 8,
) -> list[TlsEndpointResult]:
    """Probe every endpoint (duplicates once) and return the results sorted by host, port.

    ``timeout`` bounds each handshake (connect included); ``per_host_rate`` is the most
    handshakes per second to one host; ``workers`` the most hosts probed at once.
    """
    if timeout <= 0 or per_host_rate <= 0 or workers < 1:
        raise ValueError("timeout, per_host_rate and workers must be positive")
    profiles = client_profiles()  # here, in one thread: see its docstring
    # A host as written: a device given by name and by address counts as two hosts.
    by_host: dict[str, list[tuple[str, int]]] = {}
    for host, port in sorted(set(endpoints)):
        by_host.setdefault(host.lower(), []).append((host, port))
    if not by_host:
        return []

    def probe_host(group: list[tuple[str, int]]) -> list[TlsEndpointResult]:
        pacer = _Pacer(per_host_rate)
        return [_probe_endpoint(h, p, profiles, timeout, pacer) for h, p in group]

    pool = ThreadPoolExecutor(max_workers=min(workers, len(by_host)))
    try:
        groups = list(pool.map(probe_host, by_host.values()))
    finally:  # on Ctrl-C, hosts not started yet are not probed at all
        pool.shutdown(wait=False, cancel_futures=True)
    return sorted((r for g in groups for r in g), key=lambda r: (r.host, r.port))


class _Pacer:
    """Spaces the starts of handshakes to one host at least ``1 / rate`` seconds apart."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


def _probe_endpoint(
    host: str,
    port: int,
    profiles: Mapping[TlsVersion, ClientProfile],
    timeout: float,
    pacer: _Pacer,
) -> TlsEndpointResult:
    found: dict[TlsVersion, VersionResult] = {}
    connected = answered = False
    silent: list[str] = []  # why each connection got no TLS answer
    certificate: bytes | None = None

    def unknown(reason: str) -> dict[TlsVersion, VersionResult]:
        return {
            v: found.get(v) or VersionResult(version=v, accepted=None, reason=reason)
            for v in _PROBE_ORDER
        }

    for version in _PROBE_ORDER:
        profile = profiles[version]
        if profile.context is None:
            found[version] = VersionResult(
                version=version,
                accepted=None,
                reason=f"this machine's OpenSSL cannot offer {version}: {profile.unavailable}",
            )
            continue
        if not answered and len(silent) >= 2:
            break
        pacer.wait()
        shake = handshake(host, port, profile, timeout)
        if not shake.connected:
            if not connected:
                return _result(
                    host,
                    port,
                    unknown("not probed: the endpoint is unreachable"),
                    reachable=False,
                    error=f"cannot connect: {shake.problem}",
                )
            found[version] = VersionResult(
                version=version, accepted=None, reason=f"cannot connect: {shake.problem}"
            )
            continue
        connected = True
        if isinstance(shake.answer, NotTls) and not answered:
            return _result(
                host,
                port,
                unknown("not probed: the endpoint does not speak TLS"),
                error=f"not TLS: the server answered '{shake.answer.preview}'",
            )
        found[version] = _judge(version, profile, shake)
        if found[version].accepted is None:
            silent.append(shake.problem or "no answer")
        else:
            answered = True
        certificate = certificate or shake.certificate
    if connected and not answered:
        return _result(
            host,
            port,
            unknown("not probed: no TLS answer to TLSv1.2 or TLSv1.3"),
            error=f"no TLS answer to a ClientHello: {silent[-1]} (not a TLS service?)",
        )
    return _result(host, port, found, certificate=_describe_certificate(certificate))


def _judge(version: TlsVersion, profile: ClientProfile, shake: Handshake) -> VersionResult:
    """What one handshake that reached the server says about ``version``."""
    answer = shake.answer
    if shake.completed:
        return VersionResult(version=version, accepted=True, cipher=shake.cipher)
    if isinstance(answer, Alert):
        reason = f"server refused: {answer.description} alert"
        return VersionResult(version=version, accepted=False, reason=reason)
    if isinstance(answer, ServerHello) and answer.version != version:
        reason = f"server refused: it answered with {answer.version}"
        return VersionResult(version=version, accepted=False, reason=reason)
    if isinstance(answer, ServerHello):
        # Accepted, though our side did not finish: a client certificate is required, say.
        cipher = profile.cipher_names.get(answer.cipher_suite, f"0x{answer.cipher_suite:04X}")
        reason = f"the server chose {version}, then the handshake stopped: {shake.problem}"
        return VersionResult(version=version, accepted=True, cipher=cipher, reason=reason)
    reason = f"no TLS answer: {shake.problem}"
    return VersionResult(version=version, accepted=None, reason=reason)


def _result(
    host: str,
    port: int,
    found: Mapping[TlsVersion, VersionResult],
    *,
    reachable: bool = True,
    error: str | None = None,
    certificate: CertificateInfo | None = None,
) -> TlsEndpointResult:
    versions = tuple(found[v] for v in VERSIONS if v in found)
    return TlsEndpointResult(
        host=host,
        port=port,
        reachable=reachable,
        error=error,
        versions=versions,
        certificate=certificate,
    )


def _describe_certificate(der: bytes | None) -> CertificateInfo | None:
    """Key type and size and signature algorithm, if ``cryptography`` can read the DER."""
    if not der:
        return None
    try:  # optional: installed with paramiko, and only needed here
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    except ImportError:
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
        key = cert.public_key()
    except ValueError:
        return None
    bits: int | None = None
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        kind, bits = ("RSA" if isinstance(key, rsa.RSAPublicKey) else "DSA"), key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        kind, bits = f"EC {key.curve.name}", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        kind = "Ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "Ed448"
    else:
        kind = type(key).__name__
    oid = cert.signature_algorithm_oid
    # `_name` is the OpenSSL short name (sha256WithRSAEncryption); unknown OIDs lack one.
    signature = str(getattr(oid, "_name", "") or oid.dotted_string)
    return CertificateInfo(key_type=kind, key_bits=bits, signature_algorithm=signature)
