"""Parse a device's text into facts: detect the platform, dispatch to its parser.

Parsers are pure (text in, facts out). A platform that smmcheck cannot parse yet is a
device error with its reason, not a crash and not a silent pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from smmcheck.facts import DeviceFacts
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.detect import SUPPORTED, detect_artifact, detect_platform

Parser = Callable[..., DeviceFacts]


class UnsupportedPlatform(Exception):
    """The text is from a platform smmcheck has no parser for (or is not a config)."""


def parse_config(
    text: str, *, source: str, name_hint: str, platform: str | None = None
) -> DeviceFacts:
    """Facts for one configuration text; raise UnsupportedPlatform with the reason."""
    chosen = platform or detect_platform(text)
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if chosen is None:
        part = detect_artifact(text, source)
        if part is not None:
            # One gateway file on its own (an sshd_config, an OpenWrt /etc/config/dropbear
            # under review): a part of a device, judged only on what it establishes.
            artifact = Artifact(part[0], source, text, part=True)
            return parse_bundle(
                (artifact,), source=source, sha256=sha256, name_hint=name_hint, platform=part[1]
            )
        raise UnsupportedPlatform(
            "not recognised as a device configuration (use --platform to say what it is)"
        )
    if chosen not in SUPPORTED:
        raise UnsupportedPlatform(
            f"platform {chosen} is not supported yet (supported: {', '.join(SUPPORTED)})"
        )
    return _parser(chosen)(text, source=source, sha256=sha256, name_hint=name_hint)


def parse_bundle(
    artifacts: tuple[Artifact, ...], *, source: str, sha256: str, name_hint: str, platform: str
) -> DeviceFacts:
    """Facts for a multi-file device (a Linux gateway) from its artifacts."""
    if platform == "openwrt":
        from smmcheck.parse.openwrt import parse_openwrt

        facts: DeviceFacts = parse_openwrt(
            artifacts, source=source, sha256=sha256, name_hint=name_hint
        )
        return facts
    if platform != "linux":
        raise UnsupportedPlatform(f"platform {platform} cannot be checked yet")
    from smmcheck.parse.linux import parse_linux

    return parse_linux(artifacts, source=source, sha256=sha256, name_hint=name_hint)


def _parser(platform: str) -> Parser:
    if platform == "cisco_nxos":
        from smmcheck.parse.nxos import parse_nxos

        return parse_nxos
    from smmcheck.parse.ios import parse_ios

    return parse_ios
