"""What the live TLS probe observed, as stored in a snapshot (artifact ``probe-tls``).

One line per endpoint and protocol version, so that evidence cites a line::

    # smmcheck probe tls: what each endpoint accepted
    10.40.0.10:8883 TLSv1.1 accepted ECDHE-RSA-AES256-SHA
    10.40.0.10:8883 TLSv1.0 refused server alert protocol_version
    10.40.0.10:8883 TLSv1.3 unknown no answer within 5 s
    10.40.0.10:9000 unreachable connection refused

The handshake cannot lie where the configuration can: an observed minimum replaces the
configured one (see :func:`observed_minimums`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smmcheck.facts import SourceLine
from smmcheck.parse.artifacts import Artifact

ORDER = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# The spelling policies compare against (mosquitto's, lower case).
NAMES = {"TLSv1.0": "tlsv1.0", "TLSv1.1": "tlsv1.1", "TLSv1.2": "tlsv1.2", "TLSv1.3": "tlsv1.3"}
_LINE = re.compile(
    r"^(?P<host>\[[^\]]+\]|[^\s:]+):(?P<port>\d+)\s+"
    r"(?:(?P<version>TLSv1\.[0-3])\s+(?P<verdict>accepted|refused|unknown)|unreachable)\b"
)


@dataclass
class Observed:
    """One endpoint's verdicts per version, with the lines they were read from."""

    host: str
    port: int
    verdicts: dict[str, bool | None] = field(default_factory=dict)
    evidence: list[SourceLine] = field(default_factory=list)
    reachable: bool = True

    def minimum(self) -> str | None:
        """The lowest version accepted, when every version below it is known refused."""
        for version in ORDER:
            verdict = self.verdicts.get(version)
            if verdict is True:
                return NAMES[version]
            if verdict is None:
                # Unknown below any accepted version: the minimum cannot be told, unless a
                # lower-than-1.2 version is accepted anyway (then it fails either way).
                lower = next((v for v in ORDER if self.verdicts.get(v) is True), None)
                return NAMES[lower] if lower in ("TLSv1.0", "TLSv1.1") else None
        return None


def observed(artifact: Artifact) -> dict[int, Observed]:
    """The probe's verdicts by port."""
    found: dict[int, Observed] = {}
    for number, line in artifact.lines():
        match = _LINE.match(line.strip())
        if match is None:
            continue
        port = int(match["port"])
        entry = found.setdefault(port, Observed(match["host"], port))
        entry.evidence.append(artifact.at(number))
        if match["version"] is None:
            entry.reachable = False
            continue
        entry.verdicts[match["version"]] = {"accepted": True, "refused": False}.get(
            match["verdict"]
        )
    return found
