"""Facts for a Linux IoT gateway from its artifacts (command outputs or saved files).

Each fact family is filled from the artifact that establishes it and stays None (unknown)
when that artifact is missing: no ``ss`` output, no login services known. An artifact
*known to be absent* (the device has no ``/etc/mosquitto/mosquitto.conf``) establishes
that there is nothing of that kind: no MQTT listeners.
"""

from __future__ import annotations

import re
from typing import Literal

from smmcheck.facts import (
    Credential,
    DeviceFacts,
    Discovery,
    HttpServer,
    MqttListener,
    Secret,
    Socket,
    TlsListener,
)
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.blockcrypt import volume_facts
from smmcheck.parse.detect import ARTIFACT_SCOPE
from smmcheck.parse.lighttpd import lighttpd_tls, lighttpd_version
from smmcheck.parse.linux_monitoring import monitoring_facts
from smmcheck.parse.mosquitto import mosquitto_facts
from smmcheck.parse.mosquitto_include import read_include_dir
from smmcheck.parse.sockets import login_services, socket_facts
from smmcheck.parse.sshd import sshd_facts
from smmcheck.parse.tlsprobe import observed
from smmcheck.parse.webtls import nginx_tls


def parse_linux(
    artifacts: tuple[Artifact, ...], *, source: str, sha256: str, name_hint: str
) -> DeviceFacts:
    """Facts for one Linux gateway."""
    present = {a.name: a for a in artifacts if not a.absent}
    absent = {a.name for a in artifacts if a.absent}
    banner = present.get("ssh-banner")
    ssh = sshd_facts(
        present.get("sshd-effective"),
        present.get("sshd-config"),
        banner.text.strip() if banner else None,
    )
    sockets = socket_facts(present["listening-sockets"]) if "listening-sockets" in present else None
    mqtt: tuple[MqttListener, ...] | None = None
    tls: tuple[TlsListener, ...] | None = None
    mqtt_tls: tuple[TlsListener, ...] | None = None
    if "mosquitto-config" in present:
        mqtt, mqtt_tls = mosquitto_facts(
            present["mosquitto-config"],
            _package_version(present.get("mosquitto-version")),
            read_include_dir(artifacts),  # /etc/mosquitto/conf.d, when collected
        )
    elif "mosquitto-config" in absent:
        mqtt, mqtt_tls = (), ()
    web_tls = _nginx_listeners(present, absent, sockets)
    lighttpd = _lighttpd_listeners(present, absent, sockets)
    web_tls = None if web_tls is None or lighttpd is None else (*web_tls, *lighttpd)
    # The family is known only when every server it covers is: a known-bad broker with an
    # unknown nginx would otherwise read as all the TLS there is.
    if mqtt_tls is not None and web_tls is not None:
        tls = (*mqtt_tls, *web_tls)
    elif any(a.part for a in artifacts) and (mqtt_tls, web_tls) != (None, None):
        # A file given on its own (a mosquitto.conf) is judged on what it establishes: its
        # own listeners; the rest of the device is out of scope, not unknown.
        tls = (*(mqtt_tls or ()), *(web_tls or ()))
    credentials: tuple[Credential, ...] | None = None
    if "shadow" in present:
        credentials = _shadow(present["shadow"])
    if "probe-tls" in present:
        tls = _with_observations(tls, present["probe-tls"])
    # `lsblk` shows what is mounted on dm-crypt; `dmsetup table` (root only) with which
    # cipher and key size. Without lsblk nothing is known.
    volumes = None
    if "block-devices" in present:
        volumes = volume_facts(present["block-devices"], present.get("dm-table"))
    # rsyslog, journal-upload, timesyncd, chrony, ntpd: configured and shown to run.
    logging_hosts, ntp_servers = monitoring_facts(artifacts)
    parts = [a.name for a in artifacts if a.part]
    scope = tuple(f for name in parts for f in ARTIFACT_SCOPE.get(name, ())) if parts else None
    return DeviceFacts(
        device=name_hint,
        scope=scope,
        platform="linux",
        source=source,
        sha256=sha256,
        line_count=sum(len(a.text.splitlines()) for a in present.values()),
        os_version=_os_version(present.get("os-release")),
        management_lines=login_services(sockets) if sockets is not None else None,
        ssh=ssh,
        sockets=sockets,
        http=_http(sockets, present.get("listening-sockets")),
        discovery=discovery_responders(sockets) if sockets is not None else None,
        mqtt_listeners=mqtt,
        credentials=credentials,
        tls_listeners=tls,
        volumes=volumes,
        logging_hosts=logging_hosts,
        ntp_servers=ntp_servers,
    )


def _os_version(release: Artifact | None) -> str | None:
    # PRETTY_NAME="Debian GNU/Linux 12 (bookworm)" reads best in reports.
    if release is None:
        return None
    fields = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', release.text, re.MULTILINE))
    return fields.get("PRETTY_NAME") or fields.get("VERSION_ID")


def _nginx_listeners(
    present: dict[str, Artifact], absent: set[str], sockets: tuple[Socket, ...] | None
) -> tuple[TlsListener, ...] | None:
    """nginx's TLS listeners; () when nginx is known not to run, None when unknown."""
    if "nginx-config" in present:
        return nginx_tls(present["nginx-config"], _nginx_version(present.get("nginx-version")))
    return () if "nginx-config" in absent or _not_listening("nginx", sockets) else None


def _lighttpd_listeners(
    present: dict[str, Artifact], absent: set[str], sockets: tuple[Socket, ...] | None
) -> tuple[TlsListener, ...] | None:
    """lighttpd's TLS listeners; () when lighttpd is known not to run, None when unknown."""
    if "lighttpd-config" in present:
        version = lighttpd_version(present.get("lighttpd-version"))
        return lighttpd_tls(present["lighttpd-config"], version)
    return () if "lighttpd-config" in absent or _not_listening("lighttpd", sockets) else None


def _not_listening(process: str, sockets: tuple[Socket, ...] | None) -> bool:
    """Whether ``ss -p`` (run as root) settles that ``process`` listens on no TCP socket:
    it names the process of every TCP socket, and none is ``process``. Without a server's
    configuration (older snapshots, no root) this is the only evidence of its absence."""
    tcp = [s for s in sockets or () if s.protocol == "tcp"]
    return sockets is not None and all(s.process and s.process != process for s in tcp)


def _nginx_version(listing: Artifact | None) -> str | None:
    # `dpkg-query -W 'nginx*'` lists nginx, nginx-common, nginx-light ... each with its
    # version (empty when known but not installed); all installed ones share the release.
    if listing is None:
        return None
    found = re.search(
        r"^nginx(?:-common|-core|-light|-full|-extras)?\t(?:\d+:)?(\d+\.\d+\.\d+)",
        listing.text,
        re.MULTILINE,
    )
    return found.group(1) if found else None


def _package_version(listing: Artifact | None) -> str | None:
    # `dpkg-query -W mosquitto` prints "mosquitto<TAB>2.0.11-1.2+deb12u2".
    if listing is None:
        return None
    found = re.search(r"^\S+\s+(?:\d+:)?(\d+\.\d+(?:\.\d+)?)", listing.text.strip())
    return found.group(1) if found else None


def _with_observations(
    configured: tuple[TlsListener, ...] | None, probe: Artifact
) -> tuple[TlsListener, ...] | None:
    """TLS listeners with what the live probe saw: an observed minimum replaces the
    configured one, and an endpoint the configuration did not reveal is added."""
    seen = observed(probe)
    merged: list[TlsListener] = []
    for listener in configured or ():
        found = seen.pop(listener.port, None)
        if found is None:
            merged.append(listener)
            continue
        minimum = found.minimum()
        merged.append(
            listener.model_copy(
                update={
                    "min_version": minimum if minimum is not None else listener.min_version,
                    "evidence": (*listener.evidence, *found.evidence),
                    "notes": {
                        **listener.notes,
                        "min_version": f"observed by the TLS probe (configured:"
                        f" {listener.min_version or 'unknown'})",
                    },
                }
            )
        )
    for port, found in sorted(seen.items()):
        if not found.reachable:
            continue
        merged.append(
            TlsListener(
                label=f"{found.host}:{port} (probed)",
                service="tls",
                port=port,
                min_version=found.minimum(),
                evidence=tuple(found.evidence),
                notes={"min_version": "observed by the TLS probe"},
            )
        )
    if configured is None:
        if not merged:
            return None
        # What the probe saw can fail the policy, never complete the family: listeners the
        # uncollected configuration has, and the probe did not reach, stay unknown.
        merged.append(
            TlsListener(
                label="listeners of the configuration (not collected)",
                service="tls",
                port=0,
                notes={"min_version": "the configuration was not collected"},
            )
        )
    return tuple(merged)


def _shadow(shadow: Artifact) -> tuple[Credential, ...]:
    """Accounts that can log in with a password (a hash or an empty field); locked and
    password-less system accounts (``*``, ``!``) cannot, so they are not credentials."""
    found = []
    for number, line in shadow.lines():
        fields = line.split(":")
        if len(fields) < 2 or not fields[0] or line.startswith("#"):
            continue
        user, stored = fields[0], fields[1]
        if stored.startswith(("!", "*")):
            continue
        redacted = ":".join([user, "<redacted>" if stored else "", *fields[2:]])
        found.append(
            Credential(
                label=f"account {user} (/etc/shadow)",
                kind="user",
                username=user,
                form="secret",
                secret=Secret(storage_type="crypt", value=stored),
                evidence=(shadow.at(number, redacted),),
            )
        )
    return tuple(found)


_DISCOVERY: dict[str | None, Literal["mdns", "llmnr", "lldp", "ssdp", "upnp"]] = {
    "mdns": "mdns",
    "llmnr": "llmnr",
    "lldp": "lldp",
    "ssdp": "ssdp",
    "upnp": "upnp",
}


def discovery_responders(sockets: tuple[Socket, ...]) -> tuple[Discovery, ...]:
    """Discovery protocols the device answers on a non-loopback address."""
    return tuple(
        Discovery(
            label=f"{s.service} ({s.label})",
            protocol=_DISCOVERY[s.service],
            where=f"{s.address}:{s.port}",
            enabled=True,
            evidence=s.evidence,
        )
        for s in sockets
        if s.service in _DISCOVERY and not s.local_only
    )


def _http(sockets: tuple[Socket, ...] | None, listing: Artifact | None) -> HttpServer | None:
    """Web management as the listening sockets show it: HTTP (80, 8080) or HTTPS (443, 8443)
    outside loopback. Web servers on other ports are not told apart from other daemons."""
    if sockets is None or listing is None:
        return None
    web = [s for s in sockets if s.service in ("http", "https") and not s.local_only]
    cleartext = [s for s in web if s.service == "http"]
    # A finding cites the clear-text sockets; a pass, the web servers it saw.
    evidence = tuple(line for s in (cleartext or web) for line in s.evidence)
    return HttpServer(
        label=", ".join(s.label for s in cleartext) or "no web server on 80/8080 outside loopback",
        cleartext_enabled=bool(cleartext),
        tls_enabled=any(s.service == "https" for s in web),
        evidence=evidence or (listing.whole("(no socket on 80, 8080, 443 or 8443)"),),
    )
