"""lighttpd's TLS listeners from its configuration files: which sockets speak TLS, which
MinProtocol applies to each, what the release's default means, what stays unknown, and
(with Debian's lighttpd) that a live probe sees the minimum the parser reads."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mosquitto_server import free_ports

from smmcheck.facts import TlsListener
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.lighttpd import lighttpd_tls, lighttpd_version
from smmcheck.parse.linux import parse_linux
from smmcheck.parse.tlsprobe import NAMES
from smmcheck.probe.tls import probe_tls
from smmcheck.recipes import load_recipe


def dump(text: str) -> Artifact:
    return Artifact("lighttpd-config", "gw/lighttpd-config", textwrap.dedent(text).lstrip("\n"))


def by_label(listeners: tuple[TlsListener, ...]) -> dict[str, TlsListener]:
    return {listener.label: listener for listener in listeners}


# Debian 12's files (trimmed), as the recipe's `tail -v -n +1` prints them, with 10-ssl.conf
# enabled by `lighty-enable-mod ssl`.
DEBIAN_12 = """
==> /etc/lighttpd/lighttpd.conf <==
server.modules = (
\t"mod_indexfile",
\t"mod_access",
\t"mod_alias",
 \t"mod_redirect",
)

server.document-root        = "/var/www/html"
server.pid-file             = "/run/lighttpd.pid"
server.username             = "www-data"
server.port                 = 80

# default listening port for IPv6 falls back to the IPv4 port
include_shell "/usr/share/lighttpd/use-ipv6.pl " + server.port
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
include "/etc/lighttpd/conf-enabled/*.conf"

==> /etc/lighttpd/conf-available/10-ssl.conf <==
server.modules += ( "mod_openssl" )
ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1")

==> /etc/lighttpd/conf-enabled/10-ssl.conf <==
# /usr/share/doc/lighttpd/ssl.txt
# -*- conflicts: mbedtls, gnutls, nss, wolfssl -*-

server.modules += ( "mod_openssl" )

# ssl.* in global scope gets inherited by
#   $SERVER["socket"] == "..." { ssl.engine = "enable" }
ssl.pemfile = "/etc/lighttpd/server.pem"

$SERVER["socket"] == "0.0.0.0:443" {
\tssl.engine  = "enable"
}
include_shell "/usr/share/lighttpd/use-ipv6.pl 443"
"""


def test_debian_ssl_module_opens_ipv4_and_ipv6_sockets_with_the_release_default() -> None:
    found = by_label(lighttpd_tls(dump(DEBIAN_12), "1.4.69"))
    # conf-available/ is collected but not included: its TLSv1 never applies.
    assert set(found) == {"lighttpd 0.0.0.0:443", "lighttpd [::]:443"}
    v4, v6 = found["lighttpd 0.0.0.0:443"], found["lighttpd [::]:443"]
    assert (v4.port, v4.local_only, v4.min_version) == (443, False, "tlsv1.2")
    assert v4.notes["min_version"] == "lighttpd 1.4.69 default MinProtocol: TLSv1.2"
    assert [(e.line, e.text) for e in v4.evidence] == [
        (33, '$SERVER["socket"] == "0.0.0.0:443" {'),
        (34, 'ssl.engine  = "enable"'),
    ]
    # use-ipv6.pl prints the IPv6 twin, with ssl.engine for port 443 only.
    assert v6.min_version == "tlsv1.2"
    assert [e.line for e in v6.evidence] == [36]


def test_debian_default_configuration_has_no_tls_listener() -> None:
    text = DEBIAN_12.partition("==> /etc/lighttpd/conf-enabled/10-ssl.conf <==")[0]
    assert lighttpd_tls(dump(text), "1.4.69") == ()


GLOBAL_AND_SOCKETS = """
==> /etc/lighttpd/lighttpd.conf <==
server.modules = ( "mod_openssl" )
server.document-root = "/var/www/html"
server.bind = "127.0.0.1"
ssl.engine = "enable"
ssl.pemfile = "/etc/lighttpd/certs/gw.pem"
ssl.openssl.ssl-conf-cmd = (
    "MinProtocol"  => "TLSv1.1",
    "CipherString" => "ALL:@SECLEVEL=0",
)
$SERVER["socket"] == ":8443" { ssl.engine = "enable" }
$SERVER["socket"] == ":9443" {
    ssl.pemfile = "/etc/lighttpd/certs/other.pem"
    ssl.openssl.ssl-conf-cmd += ("MaxProtocol" => "TLSv1.2")
}
$SERVER["socket"] == "[::1]:10443" {
    ssl.pemfile = "/etc/lighttpd/certs/gw.pem"
    ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.3")
}
$SERVER["socket"] == ":8080" { ssl.engine = "disable" }
$SERVER["socket"] == "/run/lighttpd/gw.sock" { }
$HTTP["host"] == "legacy.plant.local" {
    # lighttpd: "must be in global scope or $SERVER["socket"] with '==', or else is ignored"
    ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "SSLv3")
}
"""


def test_sockets_inherit_global_ssl_settings_unless_they_set_their_own() -> None:
    found = {t.port: t for t in lighttpd_tls(dump(GLOBAL_AND_SOCKETS), "1.4.69")}
    # Global ssl.engine without server.port listens on 443; ssl.engine = "disable" and a
    # unix-domain socket are no TLS listeners.
    assert {port: (t.label, t.min_version) for port, t in found.items()} == {
        443: ("lighttpd 127.0.0.1:443", "tlsv1.1"),
        8443: ("lighttpd *:8443", "tlsv1.1"),
        9443: ("lighttpd *:9443", "tlsv1.1"),  # += extends the global list
        10443: ("lighttpd [::1]:10443", "tlsv1.3"),
    }
    assert (found[443].local_only, found[8443].local_only, found[10443].local_only) == (
        True,
        False,
        True,
    )
    assert [(e.line, e.text) for e in found[8443].evidence] == [
        (11, '$SERVER["socket"] == ":8443" { ssl.engine = "enable" }'),
        (8, '"MinProtocol"  => "TLSv1.1",'),
    ]


def test_release_decides_the_default_minimum_from_1_4_56_on() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    ssl.engine = "enable"
    ssl.pemfile = "/etc/lighttpd/server.pem"
    """
    assert lighttpd_tls(dump(text), "1.4.56")[0].min_version == "tlsv1.2"
    older = lighttpd_tls(dump(text), "1.4.55")[0]
    assert older.min_version is None
    assert "before 1.4.56" in older.notes["min_version"]
    unknown = lighttpd_tls(dump(text))[0]
    assert unknown.min_version is None
    assert "release is unknown" in unknown.notes["min_version"]


@pytest.mark.parametrize(
    ("command", "version", "expected"),
    [
        ('"MinProtocol" => "TLSv1"', "1.4.69", "tlsv1.0"),
        ('"MinProtocol" => "None"', "1.4.69", "tlsv1.0"),
        ('"minprotocol" => "TLSv1.2"', None, "tlsv1.2"),  # OpenSSL reads the key in any case
        ('"MinProtocol" => "tlsv1.1"', "1.4.69", None),  # a value lighttpd refuses to start on
        ('"Protocol" => "-ALL, TLSv1.1, TLSv1.2"', "1.4.69", "tlsv1.2"),  # the default stays
        ('"Protocol" => "-ALL, TLSv1.1, TLSv1.2"', "1.4.55", None),
        ('"Protocol" => "-ALL, TLSv1.2, TLSv1.3"', None, "tlsv1.2"),
    ],
)
def test_ssl_conf_cmd_min_protocol_and_protocol(
    command: str, version: str | None, expected: str | None
) -> None:
    text = f"""
    ==> /etc/lighttpd/lighttpd.conf <==
    $SERVER["socket"] == ":443" {{
        ssl.engine = "enable"
        ssl.pemfile = "/etc/lighttpd/server.pem"
        ssl.openssl.ssl-conf-cmd = ({command}, "CipherString" => "ALL:@SECLEVEL=0")
    }}
    """
    (listener,) = lighttpd_tls(dump(text), version)
    assert listener.min_version == expected


def test_legacy_use_sslv3_is_ignored_by_1_4_69_and_unknown_before() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    ssl.engine = "enable"
    ssl.pemfile = "/etc/lighttpd/server.pem"
    ssl.use-sslv3 = "enable"
    ssl.protocol = "TLSv1"
    """
    assert lighttpd_tls(dump(text), "1.4.69")[0].min_version == "tlsv1.2"
    (older,) = lighttpd_tls(dump(text), "1.4.55")
    assert older.min_version is None
    assert "ssl.use-sslv3" in older.notes["min_version"]
    assert [e.line for e in older.evidence][-1] == 4


def test_relative_includes_start_at_the_main_files_folder() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    var.conf_dir = "/etc/lighttpd"
    include "modules.conf"
    include var.conf_dir + "/conf.d/ssl.conf"

    ==> /etc/lighttpd/modules.conf <==
    server.modules = ( "mod_openssl" )
    include "conf.d/port.conf"

    ==> /etc/lighttpd/conf.d/port.conf <==
    server.port = 8443

    ==> /etc/lighttpd/conf.d/ssl.conf <==
    ssl.engine = "enable"
    ssl.pemfile = "/etc/lighttpd/server.pem"
    ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2")
    """
    (listener,) = lighttpd_tls(dump(text))
    assert (listener.label, listener.min_version) == ("lighttpd *:8443", "tlsv1.2")
    assert [e.line for e in listener.evidence] == [11, 14, 16]


def test_an_unknown_include_shell_makes_every_minimum_unknown() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    $SERVER["socket"] == ":443" {
        ssl.engine = "enable"
        ssl.pemfile = "/etc/lighttpd/server.pem"
        ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.3")
    }
    include_shell "/usr/local/sbin/gateway-tls.sh"
    """
    (listener,) = lighttpd_tls(dump(text), "1.4.69")
    assert listener.min_version is None
    assert "line 7" in listener.notes["min_version"]
    assert listener.evidence[-1].text == 'include_shell "/usr/local/sbin/gateway-tls.sh"'


def test_files_outside_the_collected_folders_are_unknown() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    include "/opt/vendor/lighttpd/*.conf"
    """
    (placeholder,) = lighttpd_tls(dump(text), "1.4.69")
    assert (placeholder.port, placeholder.min_version) == (0, None)
    assert [e.line for e in placeholder.evidence] == [2]


def test_a_socket_at_an_address_from_the_environment_is_unknown() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    ssl.pemfile = "/etc/lighttpd/server.pem"
    $SERVER["socket"] == env.GW_TLS_SOCKET { ssl.engine = "enable" }
    """
    (placeholder,) = lighttpd_tls(dump(text), "1.4.69")
    assert (placeholder.min_version, [e.line for e in placeholder.evidence]) == (None, [3])


def test_global_blocks_else_branches_and_variables_are_read_as_lighttpd_does() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    var.tls_port = 8443
    global {
        ssl.pemfile = "/etc/lighttpd/server.pem"
    }
    $HTTP["host"] =~ "^hmi\\.plant$" { server.tag = "hmi" } else { server.tag = "gw" }
    $SERVER["socket"] == "127.0.0.1:" + var.tls_port { ssl.engine = "enable"; }
    else $HTTP["scheme"] == "http" { ssl.engine = "enable" }
    """
    (listener,) = lighttpd_tls(dump(text), "1.4.69")
    assert (listener.label, listener.local_only, listener.min_version) == (
        "lighttpd 127.0.0.1:8443",
        True,
        "tlsv1.2",
    )


def test_a_collected_folder_without_matching_files_includes_nothing() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    server.port = 80
    include "/etc/lighttpd/conf-enabled/*.conf"
    """
    assert lighttpd_tls(dump(text), "1.4.69") == ()


def test_a_saved_lighttpd_conf_alone_cannot_resolve_its_includes() -> None:
    # A root file system's etc/lighttpd/lighttpd.conf: no header, nothing else collected.
    saved = Artifact(
        "lighttpd-config",
        "rootfs/etc/lighttpd/lighttpd.conf",
        'server.port = 80\n$SERVER["socket"] == ":443" { ssl.engine = "enable" }\n'
        'include "/etc/lighttpd/conf-enabled/*.conf"\n',
    )
    (listener,) = lighttpd_tls(saved, "1.4.69")
    assert (listener.port, listener.min_version) == (443, None)
    assert listener.evidence[-1].source == "rootfs/etc/lighttpd/lighttpd.conf"
    assert listener.evidence[-1].line == 3


def test_a_line_that_is_not_lighttpd_syntax_leaves_the_sockets_unknown() -> None:
    text = """
    ==> /etc/lighttpd/lighttpd.conf <==
    ssl.engine = "enable"
    ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2"
    server.port = 443
    """
    (placeholder,) = lighttpd_tls(dump(text), "1.4.69")
    assert placeholder.min_version is None
    assert placeholder.notes["min_version"].startswith("line 4 is not lighttpd syntax")


@pytest.mark.parametrize(
    ("listing", "version"),
    [
        ("lighttpd\t1.4.69-1\nlighttpd-doc\t\nlighttpd-mod-openssl\t1.4.69-1\n", "1.4.69"),
        ("lighttpd-doc\t\nlighttpd\t1.4.53-4+deb10u3\n", "1.4.53"),
        ("lighttpd/1.4.76 (ssl) - a light and fast webserver\n", "1.4.76"),
        ("lighttpd\t\nlighttpd-mod-openssl\t\n", None),  # known to dpkg, not installed
    ],
)
def test_release_from_dpkg_query_or_lighttpd_v(listing: str, version: str | None) -> None:
    assert lighttpd_version(Artifact("lighttpd-version", "gw/v", listing)) == version


def _gateway(*artifacts: Artifact) -> tuple[TlsListener, ...] | None:
    mosquitto = Artifact(
        "mosquitto-config",
        "gw/m",
        "listener 8883\ncertfile /c\nkeyfile /k\ntls_version tlsv1.2\n",
    )
    nginx = Artifact("nginx-config", "gw/n", "", absent=True)
    facts = parse_linux(
        (mosquitto, nginx, *artifacts), source="gw", sha256="0" * 64, name_hint="gw"
    )
    return facts.tls_listeners


def test_gateway_lists_lighttpd_listeners_beside_the_broker() -> None:
    version = Artifact("lighttpd-version", "gw/v", "lighttpd\t1.4.69-1\n")
    listeners = _gateway(dump(DEBIAN_12), version)
    assert listeners is not None
    assert [(t.port, t.min_version) for t in listeners] == [
        (8883, "tlsv1.2"),
        (443, "tlsv1.2"),
        (443, "tlsv1.2"),
    ]


def test_gateway_without_lighttpd_files_has_no_lighttpd_listener() -> None:
    absent = Artifact("lighttpd-config", "gw/l", "", absent=True)
    assert [t.port for t in _gateway(absent) or ()] == [8883]


def test_lighttpd_installed_or_running_but_not_read_leaves_tls_listeners_unknown() -> None:
    version = Artifact("lighttpd-version", "gw/v", "lighttpd\t1.4.69-1\n")
    assert _gateway(version) is None
    sockets = Artifact(
        "listening-sockets",
        "gw/ss",
        "tcp   LISTEN 0      1024         0.0.0.0:443        0.0.0.0:*"
        '    users:(("lighttpd",pid=812,fd=4))\n',
    )
    assert _gateway(sockets) is None


# --- Debian's lighttpd, for real -------------------------------------------------------------


def find_lighttpd() -> str:
    binary = shutil.which("lighttpd") or (
        "/usr/sbin/lighttpd" if Path("/usr/sbin/lighttpd").exists() else None
    )
    module = Path("/usr/lib/lighttpd/mod_openssl.so")  # Debian's lighttpd-mod-openssl
    if binary is None or not module.exists() or shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide lighttpd, lighttpd-mod-openssl and openssl (.ci/run)")
        pytest.skip("needs Debian's lighttpd, lighttpd-mod-openssl and openssl packages")
    return binary


def test_recipe_dump_of_this_machines_lighttpd_parses_completely() -> None:
    find_lighttpd()
    (command,) = [c for c in load_recipe("linux").commands if c.name == "lighttpd-config"]
    # As over an SSH exec channel: the account's shell expands the patterns, and tail exits
    # 1 when one of them matches nothing, which the recipe accepts.
    run = subprocess.run(["sh", "-c", command.command], check=False, capture_output=True, text=True)
    assert command.complete.problem(run.stdout, run.returncode) is None
    listeners = lighttpd_tls(Artifact("lighttpd-config", "lighttpd-config", run.stdout))
    assert all(t.port > 0 for t in listeners)  # every include resolved


@pytest.fixture(scope="module")
def live_lighttpd(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Artifact, str, dict[str, int]]]:
    """lighttpd on loopback with a main file and a conf-enabled/ file, three TLS sockets:
    the release default, MinProtocol TLSv1.1 (all ciphers at security level 0, or OpenSSL 3
    refuses TLS 1.1 anyway) and MinProtocol TLSv1.3. Yields the recipe's dump of its
    folder, its `lighttpd -v` and the ports."""
    binary = find_lighttpd()
    root = tmp_path_factory.mktemp("lighttpd")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=gw.test", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    plain, default, legacy, strict = free_ports(4)
    (root / "lighttpd.conf").write_text(
        textwrap.dedent(f"""\
        server.modules = ( "mod_openssl" )
        server.document-root = "{root}"
        server.errorlog = "{root}/error.log"
        server.bind = "127.0.0.1"
        server.port = {plain}
        ssl.pemfile = "{root}/cert.pem"
        ssl.privkey = "{root}/key.pem"
        include "conf-enabled/*.conf"
        """)
    )
    (root / "conf-enabled").mkdir()
    (root / "conf-enabled" / "10-ssl.conf").write_text(
        textwrap.dedent(f"""\
        $SERVER["socket"] == "127.0.0.1:{default}" {{ ssl.engine = "enable" }}
        $SERVER["socket"] == "127.0.0.1:{legacy}" {{
            ssl.engine = "enable"
            ssl.pemfile = "{root}/cert.pem"
            ssl.privkey = "{root}/key.pem"
            ssl.openssl.ssl-conf-cmd = (
                "MinProtocol"  => "TLSv1.1",
                "CipherString" => "ALL:@SECLEVEL=0",
            )
        }}
        $SERVER["socket"] == "127.0.0.1:{strict}" {{
            ssl.engine = "enable"
            ssl.pemfile = "{root}/cert.pem"
            ssl.privkey = "{root}/key.pem"
            ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.3")
        }}
        """)
    )
    (command,) = [c for c in load_recipe("linux").commands if c.name == "lighttpd-config"]
    dumped = subprocess.run(
        ["sh", "-c", command.command.replace("/etc/lighttpd", str(root))],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    version = subprocess.run([binary, "-v"], check=True, capture_output=True, text=True)
    server = subprocess.Popen(
        [binary, "-D", "-f", str(root / "lighttpd.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ports = {"plain": plain, "default": default, "legacy": legacy, "strict": strict}
    try:
        deadline = time.monotonic() + 10
        while not all(_listening(port) for port in ports.values()):
            if server.poll() is not None or time.monotonic() > deadline:
                log = root / "error.log"
                pytest.fail(f"lighttpd did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        yield Artifact("lighttpd-config", "tail", dumped.stdout), version.stdout, ports
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_real_lighttpd_minimums_agree_with_the_probe(
    live_lighttpd: tuple[Artifact, str, dict[str, int]],
) -> None:
    artifact, version_output, ports = live_lighttpd
    version = lighttpd_version(Artifact("lighttpd-version", "lighttpd -v", version_output))
    assert version is not None  # Debian 12: 1.4.69, whose default MinProtocol is TLSv1.2
    parsed = {t.port: t for t in lighttpd_tls(artifact, version)}
    assert {port: t.min_version for port, t in parsed.items()} == {
        ports["default"]: "tlsv1.2",
        ports["legacy"]: "tlsv1.1",
        ports["strict"]: "tlsv1.3",
    }
    assert all(t.local_only for t in parsed.values())
    results = probe_tls([("127.0.0.1", port) for port in parsed], per_host_rate=200.0)
    assert sorted(r.port for r in results) == sorted(parsed)
    for result in results:
        accepted: dict[str, bool | None] = {v.version: v.accepted for v in result.versions}
        lowest = next(name for name in NAMES if accepted[name])
        # The lowest version the server accepts, every lower one refused, is the minimum.
        assert all(accepted[name] is False for name in list(NAMES)[: list(NAMES).index(lowest)])
        assert NAMES[lowest] == parsed[result.port].min_version, result.port
