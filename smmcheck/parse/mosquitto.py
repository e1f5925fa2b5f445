"""Facts from a mosquitto broker configuration (``mosquitto.conf``).

The semantics come from mosquitto 2.0.11 itself (tests/test_parse_gateway.py starts it with
the configurations it parses), mosquitto.conf(5) of that release, the 2.0.0 ChangeLog and
the migration notes (https://mosquitto.org/documentation/migrating-to-2-0/), and for 1.x the
man page's notes on earlier releases and the 1.x sources. Where the release matters and
``version`` is not given, a field is known only when 1.x and 2.0 agree on it.

* ``listener PORT [ADDRESS]`` opens a listener; the options after it configure it. ``port``,
  ``bind_address`` and listener options written before the first ``listener`` configure
  the *default listener* (1883 on every address). 1.x also opens it when no ``listener``
  exists; 2.0 then runs in *local only mode* instead: 1883 on 127.0.0.1 and ::1.
* Security options (allow_anonymous, password_file, acl_file, psk_file, auth_plugin) are
  global, the last one read winning, unless ``per_listener_settings true``: then they belong
  to the listener being configured.
* ``allow_anonymous``: 2.0 refuses anonymous clients by default, but allows them in local
  only mode whatever the file says; 1.x allows them unless a password_file, psk_file or auth
  plugin applies.
* TLS: certfile and keyfile (1.x: with cafile or capath too), or psk_hint. ``tls_version``
  is the lowest version accepted in 2.0 (tlsv1.1 to tlsv1.3; tlsv1 stops the broker) and
  the only one in 1.x.
* ``include_dir DIR`` reads DIR's ``*.conf`` files where the line stands, sorted, each
  starting at the default listener (mosquitto_include.py says what was verified). When DIR
  is the folder that was collected (``/etc/mosquitto/conf.d``), its files are read in place
  and their evidence names each file and its own line numbers. Any other folder, or one
  that was not collected, is unknown: whatever its files could change is None, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smmcheck.facts import MqttListener, SourceLine, TlsListener
from smmcheck.parse.addresses import is_loopback
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.mosquitto_include import IncludeDir

_SECURITY = ("allow_anonymous", "password_file", "acl_file", "psk_file")
_PLUGINS = ("auth_plugin", "plugin")
_LISTENER_OPTIONS = {
    "bind_interface", "cafile", "capath", "certfile", "keyfile", "ciphers", "ciphers_tls1.3",
    "crlfile", "dhparamfile", "psk_hint", "require_certificate", "tls_version", "protocol",
    "socket_domain", "mount_point", "max_connections", "max_qos", "use_identity_as_username",
    "use_subject_as_username", "use_username_as_clientid", "http_dir", "tls_engine",
    "tls_keyform", "tls_engine_kpass_sha1",
}  # fmt: skip
# Set before any `listener`, these open the default listener (mosquitto's
# config__parse_args; checked with 2.0.11: max_connections does, tls_version does not).
_OPENS_DEFAULT = {
    "bind_interface", "cafile", "capath", "certfile", "keyfile", "ciphers", "ciphers_tls1.3",
    "crlfile", "dhparamfile", "psk_hint", "tls_engine", "tls_engine_kpass_sha1",
    "mount_point", "socket_domain",
}  # fmt: skip
_FLAGS = ("require_certificate", "use_identity_as_username", "use_subject_as_username")
_EVIDENCE = ("certfile", "keyfile", "cafile", "capath", "psk_hint", "tls_version", "ciphers")
_EVIDENCE_ALSO = ("require_certificate", "protocol", "bind_interface", "socket_domain")
_V2_TLS = ("tlsv1.1", "tlsv1.2", "tlsv1.3")
_V1_TLS = ("tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3")
_LOCAL_ONLY = "no listener, port or bind_address line"
_RELEASE = {1: "1.x", 2: "2.0"}

Answer = tuple[Any, str | None]  # a field's value and the note that explains it


@dataclass
class _Option:
    value: str
    line: int

    def word(self) -> str:
        return self.value.split()[0] if self.value.split() else ""


@dataclass
class _Listener:
    kind: str  # listener | default | local (2.0 local only mode) | hidden (in include_dir)
    port: int = 1883
    bind: str | None = None
    line: int | None = None  # the `listener` line
    lines: list[int] = field(default_factory=list)  # port / bind_address of the default
    options: dict[str, _Option] = field(default_factory=dict)
    security: dict[str, _Option] = field(default_factory=dict)
    plugins: list[int] = field(default_factory=list)


@dataclass
class _Config:
    default: _Listener = field(default_factory=lambda: _Listener("default"))
    listeners: list[_Listener] = field(default_factory=list)
    security: dict[str, _Option] = field(default_factory=dict)
    plugins: list[int] = field(default_factory=list)
    per_listener: _Option | None = None
    includes: list[_Option] = field(default_factory=list)  # include_dir of unknown files
    spliced: list[_Option] = field(default_factory=list)  # include_dir whose files were read
    # include_dir lines after which the main file's listener may be lost: unknown files, or
    # files that open a listener (see _crossed).
    crossings: list[_Option] = field(default_factory=list)
    opens_default: bool = False  # by port, bind_address or a listener option before any listener
    # Each non-comment line read, by its position in reading order (the `line` of options).
    places: dict[int, SourceLine] = field(default_factory=dict)

    def per_listener_settings(self) -> bool:
        return self.per_listener is not None and _bool(self.per_listener.word()) is True


def mosquitto_facts(
    config: Artifact, version: str | None = None, included: IncludeDir | None = None
) -> tuple[tuple[MqttListener, ...], tuple[TlsListener, ...]]:
    """The MQTT listeners a ``mosquitto.conf`` opens, and the TLS endpoints among them.

    ``version`` is the broker's release ("2.0.11"); without it, a field whose default
    differs between 1.x and 2.0 is None (unknown) unless the file sets it. ``included``
    is the collected include_dir folder, read where an ``include_dir`` names it.
    """
    conf = _read(config, included)
    match = re.search(r"(\d+)\.\d+", version or "")
    major = int(match.group(1)) if match else None
    mqtt: list[MqttListener] = []
    tls: list[TlsListener] = []
    for listener in _listeners(conf, major):
        answers = _answers(conf, listener, major)
        notes = {name: note for name, (_, note) in answers.items() if note}
        value = {name: v for name, (v, _) in answers.items()}
        label = _label(conf, listener)
        evidence = _evidence(config, conf, listener, value)
        mqtt.append(
            MqttListener(
                label=label,
                port=listener.port,
                bind=listener.bind,
                local_only=value["local_only"],
                tls=value["tls"],
                websockets=bool(value["websockets"]),
                tls_min_version=value["tls_min_version"],
                allow_anonymous=value["allow_anonymous"],
                require_certificate=value["require_certificate"],
                password_file=value["password_file"],
                evidence=evidence,
                notes=notes,
            )
        )
        releases = (major,) if major is not None else (1, 2)
        # A listener that may use TLS (unknown: defined in an include_dir) is a TLS
        # endpoint of unknown version: it must not let tls-min-1-2 pass as not applicable.
        if any(_tls(conf, listener, release)[0] is not False for release in releases):
            tls.append(
                TlsListener(
                    label=label,
                    service="mqtt-websockets-tls" if value["websockets"] else "mqtts",
                    port=listener.port,
                    local_only=value["local_only"],
                    min_version=value["tls_min_version"],
                    evidence=evidence,
                    notes={"min_version": notes["tls_min_version"]}
                    if "tls_min_version" in notes
                    else {},
                )
            )
    return tuple(mqtt), tuple(tls)


def _read(config: Artifact, included: IncludeDir | None) -> _Config:
    conf = _Config()
    current = conf.default
    for number, raw in config.lines():
        line = _place(conf, config, number, raw)
        if line is None:
            continue
        key, rest, option = line
        if key == "include_dir" and included is not None and included.covers(option.value):
            opened = len(conf.listeners)
            for file in included.files:
                inner = conf.default  # each file starts at the default listener
                for inner_number, inner_raw in file.lines():
                    found = _place(conf, file, inner_number, inner_raw)
                    # mosquitto reads include_dir in the main file only.
                    if found is not None and found[0] != "include_dir":
                        inner = _apply(conf, inner, *found)
            conf.spliced.append(option)
            if len(conf.listeners) > opened:
                conf.crossings.append(option)
        elif key == "include_dir":
            conf.includes.append(option)
            conf.crossings.append(option)
        else:
            current = _apply(conf, current, key, rest, option)
    return conf


def _place(conf: _Config, file: Artifact, number: int, raw: str) -> tuple[str, str, _Option] | None:
    """A line's key, the rest, and the option at its position in reading order."""
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    position = len(conf.places) + 1
    conf.places[position] = SourceLine(source=file.source, line=number, text=text)
    key, _, rest = text.replace("\t", " ").partition(" ")
    return key, rest, _Option(rest.strip(), position)


def _apply(conf: _Config, current: _Listener, key: str, rest: str, option: _Option) -> _Listener:
    """Read one option; return the listener that the next options configure."""
    number = option.line
    words = [w for w in rest.split() if not w.startswith("#")]
    if key == "listener" and words and words[0].isdigit():
        current = _Listener("listener", int(words[0]), words[1] if len(words) > 1 else None)
        current.line = number
        conf.listeners.append(current)
    elif key in ("port", "bind_address") and words:
        if key == "port" and words[0].isdigit():
            conf.default.port = int(words[0])
        elif key == "bind_address":
            conf.default.bind = words[0]
        conf.default.lines.append(number)
        conf.opens_default = True
    elif key == "per_listener_settings":
        conf.per_listener = option
    elif key in _SECURITY or key in _PLUGINS:
        scoped = conf.per_listener_settings()
        if key in _PLUGINS:
            (current.plugins if scoped else conf.plugins).append(number)
        else:
            (current.security if scoped else conf.security)[key] = option
        if scoped and current is conf.default and key not in ("allow_anonymous", "acl_file"):
            conf.opens_default = True
    elif key in _LISTENER_OPTIONS:
        current.options[key] = option
        if current is conf.default and _opens_default(key, option.word()):
            conf.opens_default = True
    return current


def _opens_default(key: str, value: str) -> bool:
    if key in (*_FLAGS, "use_username_as_clientid"):
        return _bool(value) is True
    if key == "protocol":
        return value != "mqtt"
    if key == "max_qos":
        return value != "2"
    if key == "max_connections":
        return not value.startswith("-")
    if key == "tls_keyform":
        return value != "pem"
    return key in _OPENS_DEFAULT


def _listeners(conf: _Config, major: int | None) -> list[_Listener]:
    found = list(conf.listeners)
    if conf.opens_default or (not conf.listeners and (major or 0) < 2 and not conf.includes):
        found.insert(0, conf.default)  # 1.x (or an unknown release): the default listener
    elif not conf.listeners and conf.includes:
        found.append(_Listener("hidden"))
    elif not conf.listeners:
        found += [_Listener("local", bind="127.0.0.1"), _Listener("local", bind="::1")]
    return found


def _answers(conf: _Config, listener: _Listener, major: int | None) -> dict[str, Answer]:
    fields: dict[str, Callable[[_Config, _Listener, int], Answer]] = {
        "local_only": _local_only,
        "tls": _tls,
        "websockets": _websockets,
        "tls_min_version": _min_version,
        "allow_anonymous": _anonymous,
        "require_certificate": _require_certificate,
        "password_file": _password_file,
    }
    if major is not None:
        return {name: get(conf, listener, major) for name, get in fields.items()}
    # An unknown release: a TLS setting counts in the releases where the listener is TLS.
    with_tls = [r for r in (1, 2) if _tls(conf, listener, r)[0]] or [1, 2]
    return {
        name: _agreed(
            [(r, get(conf, listener, r)) for r in with_tls]
            if name in ("tls_min_version", "require_certificate")
            else [(1, get(conf, listener, 1)), (2, get(conf, listener, 2))]
        )
        for name, get in fields.items()
    }


def _agreed(answers: list[tuple[int, Answer]]) -> Answer:
    """One answer for an unknown release: known only where 1.x and 2.0 agree."""
    notes = list(dict.fromkeys(note for _, (_, note) in answers if note))
    values = {repr(value) for _, (value, _) in answers}
    if len(values) == 1:
        return answers[0][1][0], "; ".join(notes) or None
    each = "; ".join(
        note or f"mosquitto {_RELEASE[release]}: {_show(value)}"
        for release, (value, note) in answers
    )
    return None, f"the mosquitto release is unknown and decides: {each}"


def _show(value: Any) -> str:
    return {True: "true", False: "false", None: "unknown"}.get(value, str(value))


def _local_only(conf: _Config, listener: _Listener, major: int) -> Answer:
    if listener.kind == "hidden":
        return None, _hidden_note(conf)
    if listener.kind == "local" or (
        # The default listener of 1.x, which 2.0 replaces with its local only mode.
        listener.kind == "default" and major >= 2 and not conf.opens_default
    ):
        return True, f"{_LOCAL_ONLY}: mosquitto 2.0 listens on 127.0.0.1 and ::1 only"
    if listener.kind == "listener" and listener.port == 0:
        return True, "a Unix socket listener"
    interface = listener.options.get("bind_interface")
    if interface is not None and interface.word() == "lo":
        return True, None
    return is_loopback(listener.bind), None


def _local_mode(conf: _Config, major: int) -> bool | None:
    """mosquitto 2.0's local only flag (no listener, port or bind_address): None if unknown."""
    if major < 2 or conf.listeners or conf.default.lines:
        return False
    return None if conf.includes else True


def _tls(conf: _Config, listener: _Listener, major: int) -> Answer:
    if listener.kind == "hidden":
        return None, _hidden_note(conf)
    has = listener.options.__contains__
    cert, psk, ca = (
        has("certfile") and has("keyfile"),
        has("psk_hint"),
        has("cafile") or has("capath"),
    )
    if major >= 2:
        return cert or psk, None
    if cert and not ca and not psk:
        return False, "certfile and keyfile without cafile or capath: mosquitto 1.x enables no TLS"
    return (cert and ca) or psk, None


def _websockets(conf: _Config, listener: _Listener, major: int) -> Answer:
    protocol = listener.options.get("protocol")
    return protocol is not None and protocol.word() == "websockets", None


def _min_version(conf: _Config, listener: _Listener, major: int) -> Answer:
    if not _tls(conf, listener, major)[0]:
        return None, None
    if _websockets(conf, listener, major)[0]:
        return None, (
            "a websockets listener: libwebsockets negotiates TLS, and mosquitto.conf(5) lists"
            " only cafile, certfile, keyfile, ciphers and ciphers_tls1.3 for it"
        )
    option = listener.options.get("tls_version")
    if option is None and major >= 2:
        # mosquitto.conf(5) says "TLS v1.3 and v1.2" by default, but 2.0.11 only refuses
        # TLS 1.0 itself: with OpenSSL 3.0 and `ciphers ALL:@SECLEVEL=0` it accepts TLS 1.1.
        return None, (
            "no tls_version: mosquitto 2.0 refuses TLS 1.0 and leaves TLS 1.1 to the OpenSSL"
            " build and its security level; set tls_version tlsv1.2"
        )
    if option is None:
        return None, "no tls_version: mosquitto 1.x accepts every version its OpenSSL enables"
    crossed = _crossed(conf, listener, option)
    if crossed:
        return None, crossed
    value = option.word()
    if major >= 2 and value in _V2_TLS:
        return value, "tls_version is the lowest version mosquitto 2.0 accepts"
    if major >= 2:
        return None, f"mosquitto 2.0 refuses to start with tls_version {value}"
    if value in _V1_TLS:
        return value, "mosquitto 1.x accepts this TLS version only"
    return None, f"tls_version {value} is not a version mosquitto 1.x knows"


def _anonymous(conf: _Config, listener: _Listener, major: int) -> Answer:
    if listener.kind == "hidden":
        return None, _hidden_note(conf)
    settings, plugins, scoped = _scope(conf, listener)
    option = settings.get("allow_anonymous")
    local = _local_mode(conf, major) if listener.kind in ("default", "local") else False
    if local is None:
        return None, f"{_hidden_note(conf)}; without one mosquitto 2.0 allows anonymous clients"
    if local:
        return (
            True,
            f"{_LOCAL_ONLY}: mosquitto 2.0 allows anonymous clients, whatever allow_anonymous says",
        )
    if option is not None:
        value = _bool(option.word())
        why = _crossed(conf, listener, option) if scoped else _overridable(conf, option)
        return (None, why) if why else (value, None if value is not None else "not true or false")
    if not scoped and conf.includes:
        return (
            None,
            f"no allow_anonymous after include_dir {conf.includes[-1].value}: its files may set it",
        )
    if major >= 2 and scoped and listener.kind == "default":
        # config__read applies the 2.0 default to the listeners it has read; the default
        # listener is added after it, so its own setting stays "unset", which allows (2.0.11).
        return (
            True,
            "no allow_anonymous for the default listener: mosquitto 2.0 lets anonymous clients in",
        )
    if major >= 2:
        return False, "no allow_anonymous: mosquitto 2.0 refuses anonymous clients"
    guard = next((k for k in ("password_file", "psk_file") if k in settings), None)
    if guard or plugins:
        why = guard or "auth_plugin"
        return (
            False,
            f"no allow_anonymous: mosquitto 1.x refuses anonymous clients once {why} applies",
        )
    return True, "no allow_anonymous: mosquitto 1.x allows anonymous clients"


def _require_certificate(conf: _Config, listener: _Listener, major: int) -> Answer:
    if not _tls(conf, listener, major)[0]:
        return False, None
    option = listener.options.get("require_certificate")
    if _websockets(conf, listener, major)[0]:
        return False, "websockets listeners do not support require_certificate" if option else None
    if option is None:
        return False, "no require_certificate: clients need no certificate (mosquitto default)"
    crossed = _crossed(conf, listener, option)
    return (None, crossed) if crossed else (_bool(option.word()), None)


def _password_file(conf: _Config, listener: _Listener, major: int) -> Answer:
    if listener.kind == "hidden":
        return None, _hidden_note(conf)
    settings, _, scoped = _scope(conf, listener)
    option = settings.get("password_file")
    if option is not None:
        crossed = _crossed(conf, listener, option) if scoped else None
        return (None, crossed) if crossed else (True, None)
    if not scoped and conf.includes:
        return None, f"files in include_dir {conf.includes[-1].value} may set password_file"
    return False, None


def _scope(conf: _Config, listener: _Listener) -> tuple[dict[str, _Option], list[int], bool]:
    if conf.per_listener_settings() and listener.kind in ("listener", "default"):
        return listener.security, listener.plugins, True
    return conf.security, conf.plugins, False


def _crossed(conf: _Config, listener: _Listener, option: _Option) -> str | None:
    """Why a listener's option after an include_dir may not apply to that listener.

    mosquitto 2.0.11 applied such an option to no listener at all when an included file
    opened a listener: that reallocates the listener array behind the main file's pointer
    to its current listener.
    """
    if listener.line is None:
        return None
    for include in conf.crossings:
        if listener.line < include.line < option.line and include in conf.spliced:
            return (
                f"set after include_dir {include.value} for a listener opened before it: a"
                " listener opened in the included files makes mosquitto 2.0.11 lose track of"
                " the main file's listener, and whether the option lands anywhere is undefined"
            )
        if listener.line < include.line < option.line:
            return (
                f"set after include_dir {include.value} for a listener opened before it: the"
                " included files decide whether mosquitto applies it"
            )
    return None


def _overridable(conf: _Config, option: _Option) -> str | None:
    later = [i for i in conf.includes if i.line > option.line]
    if later:
        return f"include_dir {later[-1].value} is read after it and its files may set it again"
    return None


def _hidden_note(conf: _Config) -> str:
    folders = ", ".join(i.value for i in conf.includes)
    return f"no listener line in this file: listeners may be defined in include_dir {folders}"


def _label(conf: _Config, listener: _Listener) -> str:
    if listener.kind == "listener":
        where = f" {listener.bind}" if listener.bind else ""
        return f"mosquitto listener {listener.port}{where}"
    if listener.kind == "default":
        where = f", bind_address {listener.bind}" if listener.bind else ""
        return f"mosquitto default listener (port {listener.port}{where})"
    if listener.kind == "local":
        host = f"[{listener.bind}]" if ":" in (listener.bind or "") else listener.bind
        return f"mosquitto local only listener {host}:{listener.port}"
    return f"mosquitto listeners of include_dir {', '.join(i.value for i in conf.includes)}"


def _evidence(
    config: Artifact, conf: _Config, listener: _Listener, value: dict[str, Any]
) -> tuple[SourceLine, ...]:
    numbers = set(listener.lines)
    if listener.line is not None:
        numbers.add(listener.line)
    numbers.update(o.line for k, o in listener.options.items() if k in _EVIDENCE + _EVIDENCE_ALSO)
    if listener.kind != "hidden":
        settings, plugins, _ = _scope(conf, listener)
        numbers.update(o.line for o in settings.values())
        numbers.update(plugins)
    if conf.per_listener is not None:
        numbers.add(conf.per_listener.line)
    numbers.update(i.line for i in (*conf.includes, *conf.spliced))
    absent = []
    if listener.kind in ("local", "hidden") or (listener.kind == "default" and not listener.lines):
        absent.append(config.whole(_LOCAL_ONLY))
    if listener.kind != "hidden" and "allow_anonymous" not in _scope(conf, listener)[0]:
        absent.append(config.whole("no allow_anonymous line"))
    if value["tls"] and "tls_version" not in listener.options:
        absent.append(config.whole("no tls_version line"))
    return tuple(conf.places[n] for n in sorted(numbers)) + tuple(absent)


def _bool(word: str) -> bool | None:
    return {"true": True, "1": True, "false": False, "0": False}.get(word)
