"""Remove secrets from configuration lines before they become evidence.

Reports, logs and evidence packs quote configuration lines; none of them may carry a
password, a hash, a key or an SNMP community. The typed facts keep what the checks need;
only the quoted text is redacted. The patterns cover IOS, IOS-XE and NX-OS syntax.
"""

from __future__ import annotations

import re

MASK = "<redacted>"

_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # password / secret [0] CLEAR TEXT: IOS takes the rest of the line, spaces included
        r"(?<![\w-])((?:password|secret)(?:\s+level\s+\d+)?\s+(?:0\s+)?)(?!\d{1,2}\s+\S)(.+)$",
        # password / secret TYPE VALUE (hashes and type 7; NX-OS puts `role ...` after them)
        r"(?<![\w-])((?:password|secret)(?:\s+level\s+\d+)?(?:\s+\d{1,2})?\s+)(\S+)",
        # key / key-string / authentication-key / md5 / pre-shared-key [type] VALUE
        r"(?<![\w-])((?:key|key-string|authentication-key|pre-shared-key|message-digest-key"
        r"\s+\d+\s+md5|md5|auth-key)(?:\s+\d{1,2})?\s+)(\S+)",
        # snmp-server community VALUE
        r"^(\s*snmp-server\s+community\s+)(\S+)",
        # snmp-server host ADDR [vrf X] [informs|traps] [version 1|2c] VALUE
        r"^(\s*snmp-server\s+host\s+\S+(?:\s+vrf\s+\S+)?(?:\s+(?:informs|traps))?"
        r"(?:\s+version\s+(?:1|2c))?\s+)(?!version\b|vrf\b|informs\b|traps\b)(\S+)",
        # SNMPv3 user auth/priv passphrases
        r"(\bauth\s+(?:md5|sha\S*)\s+)(\S+)",
        r"(\bpriv\s+(?:des|3des|aes(?:\s+\d+)?|aes-\d+)\s+)(\S+)",
        # wireless and crypto pre-shared keys
        r"(\b(?:wpa-psk|psk)\s+(?:ascii|hex)(?:\s+\d)?\s+)(\S+)",
        r"(\bcrypto\s+isakmp\s+key\s+(?:\d\s+)?)(\S+)",
    )
)


def redact(text: str) -> str:
    """``text`` with every secret value replaced by ``<redacted>``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text
