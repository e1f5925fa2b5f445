"""Facts about a gateway's OpenSSH server, from ``sshd -T`` or ``/etc/ssh/sshd_config``.

``sshd -T`` prints the settings sshd would run with: when it is available it is
authoritative. Without it (``sshd -T`` needs root) the configuration file is read with
sshd's own rules: keywords are case-insensitive, the first value obtained wins, and what
the file leaves out takes the default of the installed release, from the table below.
What cannot be established (an unknown release, a file pulled in by ``Include``) stays
None with a note: missing evidence is never compliance.

A ``Match`` block applies only to the connections it selects (``Match all`` to every one).
The values recorded are those for a connection no other Match block selects, which is
what ``sshd -T`` prints too; a Match block that lets its connections log in more easily
(PermitRootLogin, PasswordAuthentication) is recorded as a note on the field, with its
lines as evidence, so a report can show it beside a passing value.

The defaults are upstream OpenSSH's. Distributions rarely change them (Debian 12 adds the
``sntrup761x25519-sha512`` alias of the same key exchange), but some inject options on
sshd's command line (RHEL 8 crypto-policies), which only ``sshd -T`` shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from smmcheck.facts import SourceLine, SshServer
from smmcheck.parse.artifacts import Artifact

Release = tuple[int, int]

# Server defaults (KEX_SERVER_* in OpenSSH's myproposal.h; the sshd_config(5) "The
# default is" lists). Revisions read: 1.54 (2016-09-28, in 7.4), 1.55 (7.6), 1.57 (7.9),
# 1.60 (2019-11-01, still group14-sha1), 1.67 (2020-01-24, in 8.2: group14-sha1 removed),
# 1.69 (8.8), 1.71 (2022-03-30, in 9.0: sntrup761 first), 1.77 (2024-12-02, in 10.0:
# ML-KEM first, no finite-field DH in the server, AES-GCM before AES-CTR). 8.9 adds
# sntrup761 after the ECDH methods (an OpenSSH_8.9p1 server's KEXINIT); 9.9 adds
# mlkem768x25519-sha256 and the sntrup761x25519-sha512 name (release notes 9.9).
_CIPHERS = (
    "chacha20-poly1305@openssh.com",
    *("aes128-ctr", "aes192-ctr", "aes256-ctr"),
    *("aes128-gcm@openssh.com", "aes256-gcm@openssh.com"),
)
_CIPHERS_10 = (_CIPHERS[0], *_CIPHERS[4:], *_CIPHERS[1:4])
_MACS = (
    *("umac-64-etm@openssh.com", "umac-128-etm@openssh.com"),
    *("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"),
    *("hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com"),
    *("hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"),
)
_ECDH = (
    *("curve25519-sha256", "curve25519-sha256@libssh.org"),
    *("ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521"),
)
_DH = (
    *("diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512"),
    *("diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"),
)
_SNTRUP = "sntrup761x25519-sha512@openssh.com"
_PQ_99 = ("sntrup761x25519-sha512", _SNTRUP, "mlkem768x25519-sha256")
_KEX_74 = (*_ECDH, *_DH, "diffie-hellman-group14-sha1")
_KEX_82 = (*_ECDH, *_DH)
_KEX_89 = (*_ECDH, _SNTRUP, *_DH)
_KEX_90 = (_SNTRUP, *_ECDH, *_DH)
_KEX_99 = (*_PQ_99, *_ECDH, *_DH)
_KEX_10 = ("mlkem768x25519-sha256", *_PQ_99[:2], *_ECDH)

# (ciphers, macs, kex) by release; a release between two rows takes the lower row's.
DEFAULTS: dict[Release, tuple[tuple[str, ...], ...]] = {
    (7, 4): (_CIPHERS, _MACS, _KEX_74),
    (7, 6): (_CIPHERS, _MACS, _KEX_74),
    (7, 9): (_CIPHERS, _MACS, _KEX_74),
    (8, 2): (_CIPHERS, _MACS, _KEX_82),
    (8, 4): (_CIPHERS, _MACS, _KEX_82),
    (8, 9): (_CIPHERS, _MACS, _KEX_89),
    (9, 0): (_CIPHERS, _MACS, _KEX_90),
    (9, 2): (_CIPHERS, _MACS, _KEX_90),
    (9, 3): (_CIPHERS, _MACS, _KEX_90),
    (9, 6): (_CIPHERS, _MACS, _KEX_90),
    (9, 9): (_CIPHERS, _MACS, _KEX_99),
    (10, 0): (_CIPHERS_10, _MACS, _KEX_10),
}
# sshd keyword -> (SshServer field, keyword as documented, column of DEFAULTS)
_ALGORITHMS = {
    "ciphers": ("ciphers", "Ciphers", 0),
    "macs": ("macs", "MACs", 1),
    "kexalgorithms": ("kex", "KexAlgorithms", 2),
}

_KBD, _CHALLENGE = "kbdinteractiveauthentication", "challengeresponseauthentication"
_ROOT_LOGIN = {"yes": 3, "prohibit-password": 2, "forced-commands-only": 1, "no": 0}
_FLAGS = {"yes": True, "no": False}
_NO_SSH1 = (7, 4)  # 7.4 removed the SSH-1 server; `Protocol` is ignored since.
_VERSION = re.compile(r"OpenSSH[_ ](\d+)\.(\d+)(?:p\d+)?", re.IGNORECASE)
_LINE = re.compile(r"\s*([^\s=#][^\s=]*)(?:\s*=\s*|\s+)(.*?)\s*$")


def sshd_facts(
    effective: Artifact | None, config: Artifact | None, version: str | None
) -> SshServer | None:
    """The SSH server's effective settings; None when neither artifact says anything.

    ``effective`` is ``sshd -T`` output, ``config`` the text of ``/etc/ssh/sshd_config``,
    ``version`` an OpenSSH version string such as ``OpenSSH_9.2p1`` (a banner will do).
    """
    release, software = _release(version)
    out = _Found()
    parsed = _ConfigFile(config, _read_config(config), out) if config is not None else None
    if effective is not None and _is_effective(effective):
        # sshd -T shows the settings for a connection no conditional Match block selects.
        server = _from_effective(effective, release, version, out)
    elif parsed is not None:
        server = _from_config(parsed, release, version)
    else:
        return None
    if parsed is not None:
        _match_notes(parsed, server)
    return server.model_copy(
        update={
            "software": software,
            "notes": out.notes,
            "evidence": out.sorted(),
            "field_evidence": out.field_evidence(),
        }
    )


@dataclass
class _Found:
    notes: dict[str, str] = field(default_factory=dict)
    evidence: list[SourceLine] = field(default_factory=list)
    # The lines each field rests on: a root-login finding cites PermitRootLogin and the
    # authentication lines, not the Ciphers line read for another policy.
    by_field: dict[str, list[SourceLine]] = field(default_factory=dict)
    current: str = ""  # the field whose lines are being cited

    def note(self, name: str, text: str) -> None:
        self.current = name
        self.notes[name] = f"{self.notes[name]}; {text}" if name in self.notes else text

    def cite(self, line: SourceLine) -> None:
        if line not in self.evidence:
            self.evidence.append(line)
        if self.current:
            cited = self.by_field.setdefault(self.current, [])
            if line not in cited:
                cited.append(line)

    def field_evidence(self) -> dict[str, tuple[SourceLine, ...]]:
        """Lines per field; root_password_login rests on the fields it is derived from."""
        derived = ("permit_root_login", "password_authentication", "root_password_login")
        merged = {
            name: tuple(sorted(lines, key=lambda s: (s.source, s.line, s.text)))
            for name, lines in self.by_field.items()
        }
        root = {line for name in derived for line in merged.get(name, ())}
        if root:
            merged["root_password_login"] = tuple(
                sorted(root, key=lambda s: (s.source, s.line, s.text))
            )
        return merged

    def sorted(self) -> tuple[SourceLine, ...]:
        return tuple(sorted(self.evidence, key=lambda s: (s.source, s.line, s.text)))


def _release(version: str | None) -> tuple[Release | None, str | None]:
    match = _VERSION.search(version or "")
    if match is None:
        return None, None
    return (int(match.group(1)), int(match.group(2))), match.group(0)


def _defaults(release: Release | None) -> tuple[Release | None, tuple[tuple[str, ...], ...]]:
    known = [r for r in DEFAULTS if release is not None and r <= release]
    return (max(known), DEFAULTS[max(known)]) if known else (None, ())


def _unknown_release(release: Release | None, version: str | None) -> str:
    if release is not None:
        return f"OpenSSH {release[0]}.{release[1]} is older than the releases modelled (7.4+)"
    if version:
        return f"the release is unknown ({version!r} is not an OpenSSH version)"
    return "the OpenSSH release is unknown"


def _root_password_login(
    permit: str | None, password: bool | None, kbd: bool | None, out: _Found
) -> bool | None:
    if permit is None:
        why = out.notes.get("permit_root_login")
        out.note(
            "root_password_login",
            f"PermitRootLogin is unknown: {why}" if why else "PermitRootLogin is unknown",
        )
        return None
    if permit != "yes":
        return False
    if password or kbd:
        return True
    if password is False and kbd is False:
        return False
    out.note(
        "root_password_login", "PermitRootLogin yes, but whether a password is accepted is unknown"
    )
    return None


# --- sshd -T ------------------------------------------------------------------------------


def _settings(art: Artifact) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for number, raw in art.lines():
        words = raw.split(None, 1)
        if len(words) == 2:
            found.setdefault(words[0].lower(), (number, words[1].strip()))
    return found


def _is_effective(art: Artifact) -> bool:
    # An error message ("sshd: no hostkeys available -- exiting.") has none of these keys.
    keys = ("ciphers", "macs", "kexalgorithms", "permitrootlogin", "passwordauthentication")
    return any(k in _settings(art) for k in keys)


def _from_effective(
    art: Artifact, release: Release | None, version: str | None, out: _Found
) -> SshServer:
    settings = _settings(art)

    def take(key: str, name: str) -> str | None:
        out.current = name
        if key not in settings:
            out.note(name, f"sshd -T printed no '{key}' line")
            out.cite(art.whole(f"(no '{key}' line in sshd -T output)"))
            return None
        out.cite(art.at(settings[key][0]))
        return settings[key][1]

    lists = {}
    for key, (name, _keyword, _index) in _ALGORITHMS.items():
        value = take(key, name)
        lists[name] = tuple(a for a in value.split(",") if a) if value is not None else None
    if settings.get("gssapikeyexchange", (0, "no"))[1] == "yes" and lists["kex"] is not None:
        gss = take("gssapikexalgorithms", "kex") or ""
        out.cite(art.at(settings["gssapikeyexchange"][0]))
        out.note("kex", "GSSAPIKeyExchange yes: the gss-* methods are offered too")
        lists["kex"] = (*lists["kex"], *(a for a in gss.split(",") if a))
    permit = _permit_value(take("permitrootlogin", "permit_root_login"), out)
    password = _flag(take("passwordauthentication", "password_authentication"))
    kbd_lines = [k for k in (_KBD, _CHALLENGE) if k in settings]
    kbd = any(_flag(settings[k][1]) for k in kbd_lines) if kbd_lines else None
    if permit == "yes":
        out.current = "root_password_login"
        for key in kbd_lines:
            out.cite(art.at(settings[key][0]))
    out.current = "accepted_versions"
    if "protocol" in settings:
        out.cite(art.at(settings["protocol"][0]))
        versions = _protocols(settings["protocol"][1])
    elif release is None or release >= _NO_SSH1:
        versions = (2,)
        out.note(
            "accepted_versions",
            "sshd -T printed no 'protocol' line: the release has no"
            " SSH-1 server (removed in OpenSSH 7.4; older releases print the line)",
        )
    else:
        versions = _banner_versions(version, out)
    return SshServer(
        label="sshd (sshd -T)",
        accepted_versions=versions,
        ciphers=lists["ciphers"],
        macs=lists["macs"],
        kex=lists["kex"],
        permit_root_login=permit,
        password_authentication=password,
        root_password_login=_root_password_login(permit, password, kbd, out),
    )


def _permit_value(raw: str | None, out: _Found) -> str | None:
    if raw is None:
        return None
    value = raw.lower()
    if value == "without-password":
        out.note("permit_root_login", "'without-password' is the old name of 'prohibit-password'")
        return "prohibit-password"
    if value not in _ROOT_LOGIN:
        out.note("permit_root_login", f"unrecognised PermitRootLogin value {raw!r}")
        return None
    return value


def _flag(raw: str | None) -> bool | None:
    return _FLAGS.get(raw.lower()) if raw is not None else None


def _protocols(raw: str) -> tuple[int, ...] | None:
    parts = [p.strip() for p in raw.split(",")]
    return tuple(sorted(int(p) for p in parts)) if all(p in ("1", "2") for p in parts) else None


def _banner_versions(version: str | None, out: _Found) -> tuple[int, ...] | None:
    # RFC 4253 section 5.1: a server that also speaks SSH-1 announces "SSH-1.99-".
    if version and version.startswith("SSH-2.0-"):
        out.note("accepted_versions", "the server announces SSH-2.0 only (its banner)")
        return (2,)
    if version and version.startswith("SSH-1."):
        out.note("accepted_versions", "the server announces SSH-1 (its banner)")
        return (1, 2) if version.startswith("SSH-1.99-") else (1,)
    out.note(
        "accepted_versions",
        "whether SSH-1 is accepted depends on the release and the"
        " 'Protocol' setting, which are unknown",
    )
    return None


# --- sshd_config --------------------------------------------------------------------------


@dataclass
class _Block:
    """The global section (line 0) or one Match block, with each keyword's first value."""

    line: int
    criteria: str = ""
    settings: dict[str, tuple[int, str]] = field(default_factory=dict)
    includes: list[int] = field(default_factory=list)

    @property
    def matches_all(self) -> bool:
        return self.criteria.split("#")[0].strip().lower() == "all"


def _read_config(art: Artifact) -> list[_Block]:
    blocks = [_Block(line=0)]
    for number, raw in art.lines():
        match = _LINE.match(raw)
        if match is None:
            continue
        keyword, rest = match.group(1).lower(), match.group(2)
        if keyword == "match":
            blocks.append(_Block(line=number, criteria=rest))
        elif keyword == "include":
            blocks[-1].includes.append(number)
        elif rest:
            value = rest[1:].split('"')[0] if rest.startswith('"') else rest.split()[0]
            blocks[-1].settings.setdefault(keyword, (number, value))
    return blocks


@dataclass(frozen=True)
class _Pick:
    value: str | None = None  # the first value obtained; None: the keyword is absent
    line: int = 0
    include: int = 0  # an Include line whose files may set the keyword first: unknown
    match_all: int = 0  # the 'Match all' line when the value comes from that block


def _first_in(block: _Block, *keywords: str) -> _Pick:
    # Several keywords: aliases, of which the first one in the file counts.
    setting = min((block.settings[k] for k in keywords if k in block.settings), default=None)
    include = block.includes[0] if block.includes else 0
    if include and (setting is None or setting[0] > include):
        return _Pick(include=include)
    return _Pick(setting[1], setting[0]) if setting else _Pick()


def _pick(blocks: list[_Block], *keywords: str) -> _Pick:
    """The value for connections no conditional Match block selects: ``Match all`` blocks
    override the global section (they select every connection), else the global value.
    A Match block inside an included file cannot be seen: the files are not collected."""
    for block in blocks[1:]:
        if block.matches_all:
            found = _first_in(block, *keywords)
            if found.include or found.value is not None:
                return _Pick(found.value, found.line, found.include, block.line)
    return _first_in(blocks[0], *keywords)


@dataclass
class _ConfigFile:
    """sshd_config read for the connections no conditional Match block selects."""

    art: Artifact
    blocks: list[_Block]
    out: _Found
    why: str = ""  # why a release default is unknown, or ""

    def cite(self, line: int) -> None:
        self.out.cite(self.art.at(line))

    def unknown_default(self, name: str, label: str, what: str) -> None:
        self.out.note(name, f"no {label} line and {self.why}: {what} is not known")
        self.out.cite(self.art.whole(f"(no {label} line; default unknown)"))

    def included(self, name: str, label: str, line: int) -> None:
        self.cite(line)
        self.out.note(
            name, f"{label} may be set by the files of the Include on line {line} (not collected)"
        )

    def setting(
        self, keyword: str, name: str, label: str, default: str | None, alias: str = ""
    ) -> str | None:
        self.out.current = name
        found = _pick(self.blocks, keyword, *([alias] if alias else []))
        if found.match_all:
            self.cite(found.match_all)
            self.out.note(name, f"set by the 'Match all' block on line {found.match_all}")
        if found.include:
            self.included(name, label, found.include)
            return None
        if found.value is not None:
            self.cite(found.line)
            return found.value
        if default is None:
            self.unknown_default(name, label, "its default")
            return None
        self.out.note(name, f"no {label} line: the OpenSSH default '{default}' applies")
        self.out.cite(self.art.whole(f"(no {label} line: OpenSSH default {default})"))
        return default

    def algorithms(
        self, keyword: str, name: str, label: str, default: tuple[str, ...] | None, release: str
    ) -> tuple[str, ...] | None:
        self.out.current = name
        for block in self.blocks[1:]:
            if keyword in block.settings:
                line = block.settings[keyword][0]
                self.cite(line)
                self.out.note(name, f"{label} inside a Match block (line {line}) is an error")
        found = _first_in(self.blocks[0], keyword)
        if found.include:
            self.included(name, label, found.include)
            return None
        if found.value is None:
            if default is None:
                self.unknown_default(name, label, "the default list")
                return None
            self.out.note(name, f"no {label} line: the {release} default")
            self.out.cite(self.art.whole(f"(no {label} line: {release} default)"))
            return default
        self.cite(found.line)
        value = found.value
        prefix = value[0] if value[0] in "+-^" else ""
        names = [n for n in value[len(prefix) :].split(",") if n]
        if prefix != "-" and any(c in n for n in names for c in "*?"):
            self.out.note(name, f"{label} {value}: sshd accepts patterns only after '-'")
            return None
        if not prefix:
            return tuple(dict.fromkeys(names))
        if default is None:
            self.out.note(name, f"{label} {value} changes the default list, and {self.why}")
            return None
        self.out.note(name, f"{label} {value} applied to the {release} default")
        if prefix == "+":
            return tuple(dict.fromkeys([*default, *names]))
        if prefix == "^":
            return tuple(dict.fromkeys([*names, *default]))
        return tuple(a for a in default if not any(_matches(p, a) for p in names))


def _from_config(config: _ConfigFile, release: Release | None, version: str | None) -> SshServer:
    table, defaults = _defaults(release)
    config.why = _unknown_release(release, version)
    found: dict[str, tuple[str, ...] | None] = {}
    for keyword, (name, label, index) in _ALGORITHMS.items():
        default = defaults[index] if defaults else None
        release_name = f"OpenSSH {table[0]}.{table[1]}" if table else ""
        found[name] = config.algorithms(keyword, name, label, default, release_name)
    gss = _pick(config.blocks, "gssapikeyexchange")
    if (gss.value or "").lower() == "yes" and found["kex"] is not None:
        config.cite(gss.line)
        config.out.note(
            "kex",
            "GSSAPIKeyExchange yes: the gss-* methods of the distribution's"
            " patch are offered too, and their defaults are not modelled",
        )
        found["kex"] = None
    # PermitRootLogin defaults to prohibit-password since OpenSSH 7.0 (yes before);
    # PasswordAuthentication to yes in every release, so it needs no known release.
    root = None if release is None else "prohibit-password" if release >= (7, 0) else "yes"
    permit = _permit_value(
        config.setting("permitrootlogin", "permit_root_login", "PermitRootLogin", root),
        config.out,
    )
    password = _flag(
        config.setting(
            "passwordauthentication", "password_authentication", "PasswordAuthentication", "yes"
        )
    )
    kbd = _keyboard_interactive(config, release) if permit == "yes" else None
    return SshServer(
        label="sshd (/etc/ssh/sshd_config)",
        accepted_versions=_config_versions(config, release, version),
        ciphers=found["ciphers"],
        macs=found["macs"],
        kex=found["kex"],
        permit_root_login=permit,
        password_authentication=password,
        root_password_login=_root_password_login(permit, password, kbd, config.out),
    )


def _keyboard_interactive(config: _ConfigFile, release: Release | None) -> bool | None:
    """Since OpenSSH 8.7 ChallengeResponseAuthentication is an alias of
    KbdInteractiveAuthentication (default yes); before, either one enabled
    keyboard-interactive logins, ChallengeResponseAuthentication defaulting to yes and
    KbdInteractiveAuthentication to no."""
    name, kbd, challenge = "root_password_login", _KBD, _CHALLENGE
    labels = {kbd: "KbdInteractiveAuthentication", challenge: "ChallengeResponseAuthentication"}

    def legacy(read: Callable[[str, str], bool | None]) -> bool | None:
        either = [read(challenge, "yes"), read(kbd, "no")]
        return True if True in either else False if either == [False, False] else None

    def quiet(keyword: str, default: str) -> bool | None:
        found = _pick(config.blocks, keyword)
        return None if found.include else _flag(found.value or default)

    if release is None:
        alias = _pick(config.blocks, kbd, challenge)
        if legacy(quiet) != (None if alias.include else _flag(alias.value or "yes")):
            config.cite(alias.line or alias.include)
            config.out.note(name, "keyboard-interactive logins are on or off by release")
            return None
    elif release < (8, 7):
        return legacy(lambda k, d: _flag(config.setting(k, name, labels[k], d)))
    return _flag(config.setting(kbd, name, labels[kbd], "yes", alias=challenge))


def _matches(pattern: str, name: str) -> bool:
    # OpenSSH patterns: '*' any run of characters, '?' exactly one (match.c).
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name) is not None


def _config_versions(
    config: _ConfigFile, release: Release | None, version: str | None
) -> tuple[int, ...] | None:
    if release is not None and release >= _NO_SSH1:
        config.out.note("accepted_versions", "OpenSSH 7.4 and later have no SSH-1 server")
        return (2,)
    found = _first_in(config.blocks[0], "protocol")
    if found.value is not None:
        config.cite(found.line)
        if _protocols(found.value) == (2,):
            return (2,)
    return _banner_versions(version, config.out)


# --- Match blocks -------------------------------------------------------------------------


def _match_notes(config: _ConfigFile, server: SshServer) -> None:
    """Note each Match block that lets the connections it selects log in more easily than
    the value recorded, which is the one for connections no Match block selects."""
    permit, password = server.permit_root_login, server.password_authentication
    for block in config.blocks[1:]:
        if block.matches_all:
            continue
        where = f"the Match block on line {block.line} ('Match {block.criteria}')"
        weaker = []
        if block.includes:
            config.cite(block.includes[0])
            weaker = ["permit_root_login", "password_authentication"]
            for name in weaker:
                config.out.note(name, f"{where} includes files that may change it")
        root = block.settings.get("permitrootlogin")
        if root is not None:
            value = root[1].lower().replace("without-password", "prohibit-password")
            if permit is None or _ROOT_LOGIN.get(value, 3) > _ROOT_LOGIN[permit]:
                config.cite(root[0])
                weaker.append("permit_root_login")
                config.out.note(
                    "permit_root_login",
                    f"{where} sets PermitRootLogin {root[1]} (line {root[0]}) for the"
                    " connections it selects; the value here is for all others",
                )
        auth = block.settings.get("passwordauthentication")
        if auth is not None and _flag(auth[1]) is not False and password is not True:
            config.cite(auth[0])
            weaker.append("password_authentication")
            config.out.note(
                "password_authentication",
                f"{where} sets PasswordAuthentication {auth[1]} (line {auth[0]}) for the"
                " connections it selects; the value here is for all others",
            )
        if weaker:
            config.cite(block.line)
            config.out.note(
                "root_password_login",
                f"{where} may allow more for the"
                " connections it selects; this value is for all others",
            )
