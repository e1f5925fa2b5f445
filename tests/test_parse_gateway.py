"""Gateway parsers: listening sockets (``ss -Htlnup``) and the mosquitto broker's configuration.

Socket listings are real: captured from this machine while the test holds sockets open,
and lines as Debian and OpenWrt gateways print them. The mosquitto semantics the parser
relies on (defaults, scoping, the 2.0 quirks) are checked against the broker itself: each
configuration in ``BROKER_CASES`` is started with mosquitto and probed with an anonymous
MQTT CONNECT.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mosquitto_server import certificate_folder, find_mosquitto, free_ports

from smmcheck.facts import MqttListener, Socket, TlsListener
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.mosquitto import mosquitto_facts
from smmcheck.parse.sockets import login_services, socket_facts

# --- listening sockets ------------------------------------------------------------------------

# A Debian-based gateway, as root sees it: every socket names its process.
DEBIAN_LISTING = """\
tcp LISTEN 0    5                  0.0.0.0:23 0.0.0.0:* users:(("telnetd",pid=733,fd=3))
tcp LISTEN 0    128                0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=612,fd=3))
tcp LISTEN 0    128                   [::]:22    [::]:* users:(("sshd",pid=612,fd=4))
tcp LISTEN 0    128            127.0.0.1:2222 0.0.0.0:* users:(("sshd",pid=615,fd=3))
udp UNCONN 0    0                0.0.0.0:1900 0.0.0.0:* users:(("minissdpd",pid=1040,fd=4))
udp UNCONN 0    0            127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=411,fd=13))
udp UNCONN 0    0             0.0.0.0%eth0:67 0.0.0.0:* users:(("dnsmasq",pid=1201,fd=4))
udp UNCONN 0    0                0.0.0.0:5353 0.0.0.0:* users:(("avahi-daemon",pid=520,fd=12))
udp UNCONN 0    0                 0.0.0.0:161 0.0.0.0:* users:(("snmpd",pid=808,fd=6))
tcp LISTEN 0    100              0.0.0.0:8883 0.0.0.0:* users:(("mosquitto",pid=640,fd=6))
tcp LISTEN 0    100                 [::]:8883    [::]:* users:(("mosquitto",pid=640,fd=7))
tcp LISTEN 0    1024               0.0.0.0:80 0.0.0.0:* users:(("lighttpd",pid=1100,fd=4))
tcp LISTEN 0    5                0.0.0.0:5000 0.0.0.0:* users:(("miniupnpd",pid=1300,fd=7))
tcp LISTEN 0    10    [::ffff:127.0.0.1]:4840       *:* users:(("opcua-server",pid=1500,fd=9))
"""

# A gateway seen by an unprivileged account: no Process column for root's sockets.
UNPRIVILEGED_LISTING = """\
tcp LISTEN 0    100                    *:1883       *:*
tcp LISTEN 0    5                 0.0.0.0:502 0.0.0.0:*
tcp LISTEN 0    5                  0.0.0.0:23 0.0.0.0:*
udp UNCONN 0    0                0.0.0.0:5683 0.0.0.0:*
"""

# An OpenWrt gateway (BusyBox telnetd, dropbear, uhttpd), as root sees it.
OPENWRT_LISTING = """\
tcp LISTEN 0    5                  0.0.0.0:23 0.0.0.0:* users:(("busybox",pid=1022,fd=3))
tcp LISTEN 0    10                 0.0.0.0:22 0.0.0.0:* users:(("dropbear",pid=988,fd=3))
tcp LISTEN 0    10                    [::]:22    [::]:* users:(("dropbear",pid=988,fd=4))
tcp LISTEN 0    1024           192.168.1.1:80 0.0.0.0:* users:(("uhttpd",pid=1310,fd=3))
udp UNCONN 0    0                127.0.0.1:53 0.0.0.0:* users:(("dnsmasq",pid=1201,fd=4))
"""


def listing(text: str) -> Artifact:
    return Artifact("listening-sockets", "ss -Htlnup", text)


def find(sockets: tuple[Socket, ...], protocol: str, port: int, process: str | None) -> Socket:
    matches = [s for s in sockets if (s.protocol, s.port, s.process) == (protocol, port, process)]
    assert len(matches) == 1, f"{protocol} {port} {process}: {matches}"
    return matches[0]


def test_each_listing_line_is_one_socket_with_its_evidence() -> None:
    sockets = socket_facts(listing(DEBIAN_LISTING))
    assert len(sockets) == len(DEBIAN_LISTING.splitlines())
    telnet = sockets[0]
    assert (telnet.protocol, telnet.address, telnet.port, telnet.process) == (
        "tcp",
        "0.0.0.0",
        23,
        "telnetd",
    )
    assert telnet.label == "tcp 0.0.0.0:23 (telnetd)"
    assert [(e.source, e.line) for e in telnet.evidence] == [("ss -Htlnup", 1)]
    assert telnet.evidence[0].text == DEBIAN_LISTING.splitlines()[0].strip()


def test_services_are_named_by_process_first_then_by_port() -> None:
    sockets = socket_facts(listing(DEBIAN_LISTING))
    expected = {
        ("tcp", 23, "telnetd"): "telnet",
        ("tcp", 2222, "sshd"): "ssh",  # the process, not the port, says ssh
        ("udp", 1900, "minissdpd"): "ssdp",
        ("udp", 53, "systemd-resolve"): "dns",
        ("udp", 67, "dnsmasq"): "dhcp",
        ("udp", 5353, "avahi-daemon"): "mdns",
        ("udp", 161, "snmpd"): "snmp",
        ("tcp", 80, "lighttpd"): "http",
        ("tcp", 5000, "miniupnpd"): "upnp",  # any port
        ("tcp", 4840, "opcua-server"): "opcua",
    }
    for (protocol, port, process), service in expected.items():
        assert find(sockets, protocol, port, process).service == service, (port, process)
    assert {s.service for s in sockets if s.port == 8883} == {"mqtts"}


def test_sockets_without_a_process_are_named_by_port() -> None:
    sockets = socket_facts(listing(UNPRIVILEGED_LISTING))
    assert [(s.port, s.process, s.service) for s in sockets] == [
        (1883, None, "mqtt"),
        (502, None, "modbus"),
        (23, None, "telnet"),
        (5683, None, "coap"),
    ]
    assert (sockets[0].address, sockets[0].label) == ("*", "tcp *:1883")


def test_busybox_on_the_telnet_port_is_telnet() -> None:
    sockets = socket_facts(listing(OPENWRT_LISTING))
    assert [(s.process, s.service) for s in sockets] == [
        ("busybox", "telnet"),
        ("dropbear", "ssh"),
        ("dropbear", "ssh"),
        ("uhttpd", "http"),
        ("dnsmasq", "dns"),
    ]
    assert (sockets[3].address, sockets[3].local_only) == ("192.168.1.1", False)


def test_a_named_daemon_on_an_unknown_port_is_something_else() -> None:
    text = 'tcp LISTEN 0 128 0.0.0.0:9100 0.0.0.0:* users:(("node_exporter",pid=9,fd=3))\n'
    (sock,) = socket_facts(listing(text))
    assert sock.service == "other"
    assert sock.process == "node_exporter"


def test_an_unnamed_process_on_an_unknown_port_has_no_known_service() -> None:
    # Without root, ss shows no process: the service cannot be told.
    (sock,) = socket_facts(listing("tcp LISTEN 0 128 0.0.0.0:9100 0.0.0.0:*\n"))
    assert (sock.service, sock.process) == (None, None)


def test_loopback_and_lo_scoped_sockets_are_local_only() -> None:
    sockets = socket_facts(listing(DEBIAN_LISTING))
    local = {(s.protocol, s.port) for s in sockets if s.local_only}
    assert local == {("tcp", 2222), ("udp", 53), ("tcp", 4840)}
    dhcp = find(sockets, "udp", 67, "dnsmasq")
    assert (dhcp.address, dhcp.local_only) == ("0.0.0.0%eth0", False)
    ssh6 = sockets[2]
    assert (ssh6.address, ssh6.label) == ("::", "tcp [::]:22 (sshd)")


def test_lines_that_are_not_sockets_are_skipped() -> None:
    text = (
        "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
        "\n"
        'tcp   LISTEN 0      128          0.0.0.0:22      0.0.0.0:* users:(("sshd",pid=1,fd=3))\n'
    )
    (sock,) = socket_facts(listing(text))
    assert (sock.port, sock.evidence[0].line) == (22, 3)


def test_telnet_and_ssh_outside_loopback_are_login_services() -> None:
    services = login_services(socket_facts(listing(DEBIAN_LISTING)))
    assert [(m.label, m.telnet_accepted, m.remote_access) for m in services] == [
        ("telnetd on 0.0.0.0:23", True, True),
        ("sshd on 0.0.0.0:22", False, True),
        ("sshd on [::]:22", False, True),
    ]  # not the sshd on 127.0.0.1:2222
    assert all(m.kind == "service" for m in services)
    assert services[0].evidence[0].line == 1


def test_a_telnet_port_without_a_process_is_a_login_service_with_a_note() -> None:
    (telnet,) = login_services(socket_facts(listing(UNPRIVILEGED_LISTING)))
    assert (telnet.label, telnet.telnet_accepted, telnet.remote_access) == (
        "telnet on 0.0.0.0:23",
        True,
        True,
    )
    assert "port number" in telnet.notes["telnet_accepted"]


def test_busybox_telnetd_and_dropbear_are_login_services() -> None:
    services = login_services(socket_facts(listing(OPENWRT_LISTING)))
    assert [(m.label, m.telnet_accepted) for m in services] == [
        ("busybox on 0.0.0.0:23", True),
        ("dropbear on 0.0.0.0:22", False),
        ("dropbear on [::]:22", False),
    ]
    assert services[0].notes == {}


@pytest.fixture
def held_sockets() -> Iterator[dict[str, socket.socket]]:
    """Sockets this test process holds open on loopback while ``ss`` lists them."""
    held = {"tcp": socket.socket(), "udp": socket.socket(socket.AF_INET, socket.SOCK_DGRAM)}
    held["tcp"].bind(("127.0.0.1", 0))
    held["tcp"].listen()
    held["udp"].bind(("127.0.0.1", 0))
    try:
        six = socket.socket(socket.AF_INET6)
        six.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        six.bind(("::", 0))  # every address, but only on lo: ss prints `*%lo:PORT`
        six.listen()
        held["tcp-lo"] = six
    except OSError:
        pass  # no IPv6, or not allowed to bind to a device
    try:
        yield held
    finally:
        for sock in held.values():
            sock.close()


def real_listing() -> str:
    ss = shutil.which("ss")
    if ss is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide iproute2 (see .ci/run)")
        pytest.skip("needs ss (iproute2)")
    return subprocess.run([ss, "-Htlnup"], capture_output=True, text=True, check=True).stdout


def test_real_ss_output_lists_the_sockets_this_test_holds(
    held_sockets: dict[str, socket.socket],
) -> None:
    text = real_listing()
    sockets = socket_facts(listing(text))
    socket_lines = [line for line in text.splitlines() if line.split()[:1] in (["tcp"], ["udp"])]
    assert len(sockets) == len(socket_lines)
    me = Path("/proc/self/comm").read_text().strip()
    for kind, protocol in (("tcp", "tcp"), ("udp", "udp")):
        port = held_sockets[kind].getsockname()[1]
        held = find(sockets, protocol, port, me)
        assert (held.address, held.local_only) == ("127.0.0.1", True)
        assert held.label == f"{protocol} 127.0.0.1:{port} ({me})"
        assert held.evidence[0].text in text
    if "tcp-lo" in held_sockets:
        port = held_sockets["tcp-lo"].getsockname()[1]
        scoped = find(sockets, "tcp", port, me)
        assert scoped.address.endswith("%lo")
        assert scoped.local_only is True


# --- mosquitto.conf ---------------------------------------------------------------------------


def broker(
    text: str, version: str | None = "2.0.11"
) -> tuple[list[MqttListener], list[TlsListener]]:
    mqtt, tls = mosquitto_facts(
        Artifact("mosquitto-config", "/etc/mosquitto/mosquitto.conf", text), version
    )
    return list(mqtt), list(tls)


def port(listeners: list[MqttListener], number: int) -> MqttListener:
    (found,) = [listener for listener in listeners if listener.port == number]
    return found


TLS_AND_WEBSOCKETS = """\
# /etc/mosquitto/conf.d/gateway.conf
per_listener_settings false
allow_anonymous false
password_file /etc/mosquitto/passwd

listener 1883 127.0.0.1

listener 8883
cafile /etc/mosquitto/ca_certificates/ca.crt
certfile /etc/mosquitto/certs/gateway.crt
keyfile /etc/mosquitto/certs/gateway.key
tls_version tlsv1.2
require_certificate true

listener 8083
protocol websockets
certfile /etc/mosquitto/certs/gateway.crt
keyfile /etc/mosquitto/certs/gateway.key
tls_version tlsv1.2
"""


def test_a_tls_listener_with_tls_version_accepts_that_version_and_later() -> None:
    mqtt, tls = broker(TLS_AND_WEBSOCKETS)
    mqtts = port(mqtt, 8883)
    assert (mqtts.tls, mqtts.tls_min_version, mqtts.require_certificate) == (True, "tlsv1.2", True)
    assert (mqtts.bind, mqtts.local_only, mqtts.websockets) == (None, False, False)
    assert mqtts.label == "mosquitto listener 8883"
    lines = [e.line for e in mqtts.evidence]
    assert lines == [2, 3, 4, 8, 9, 10, 11, 12, 13]  # the global security lines, then its own
    assert [(t.service, t.port, t.min_version) for t in tls] == [
        ("mqtts", 8883, "tlsv1.2"),
        ("mqtt-websockets-tls", 8083, None),
    ]


def test_a_websockets_listener_leaves_tls_versions_to_libwebsockets() -> None:
    mqtt, tls = broker(TLS_AND_WEBSOCKETS)
    websockets = port(mqtt, 8083)
    assert (websockets.websockets, websockets.tls, websockets.tls_min_version) == (
        True,
        True,
        None,
    )
    assert "libwebsockets" in websockets.notes["tls_min_version"]
    assert "libwebsockets" in tls[1].notes["min_version"]


def test_a_plain_listener_bound_to_loopback_is_local_only() -> None:
    mqtt, _ = broker(TLS_AND_WEBSOCKETS)
    plain = port(mqtt, 1883)
    assert (plain.tls, plain.bind, plain.local_only, plain.tls_min_version) == (
        False,
        "127.0.0.1",
        True,
        None,
    )


def test_without_per_listener_settings_security_options_apply_to_every_listener() -> None:
    mqtt, _ = broker(TLS_AND_WEBSOCKETS)
    assert {(m.port, m.allow_anonymous, m.password_file) for m in mqtt} == {
        (1883, False, True),
        (8883, False, True),
        (8083, False, True),
    }


def test_the_last_global_allow_anonymous_wins_wherever_it_stands() -> None:
    text = "listener 1883\nallow_anonymous true\nlistener 8883\nallow_anonymous false\n"
    mqtt, _ = broker(text)
    assert [m.allow_anonymous for m in mqtt] == [False, False]
    assert [e.line for e in mqtt[0].evidence] == [1, 4]


def test_per_listener_settings_gives_each_listener_its_own_security() -> None:
    text = (
        "per_listener_settings true\n"
        "listener 1883 127.0.0.1\n"
        "allow_anonymous true\n"
        "listener 8883\n"
        "password_file /etc/mosquitto/passwd\n"
    )
    mqtt, _ = broker(text)
    local, remote = port(mqtt, 1883), port(mqtt, 8883)
    assert (local.allow_anonymous, local.password_file) == (True, False)
    assert (remote.allow_anonymous, remote.password_file) == (False, True)
    assert "2.0 refuses anonymous" in remote.notes["allow_anonymous"]
    assert [e.line for e in remote.evidence][:3] == [1, 4, 5]
    assert remote.evidence[-1].line == 0  # the absence of allow_anonymous


def test_mosquitto_2_refuses_anonymous_clients_once_a_listener_is_configured() -> None:
    (listener,), _ = broker("listener 1883\n")
    assert listener.allow_anonymous is False
    assert listener.evidence[-1].text == "no allow_anonymous line"


def test_mosquitto_1_allows_anonymous_clients_unless_a_password_file_applies() -> None:
    (open_listener,), _ = broker("listener 1883\n", "1.6.12")
    (guarded,), _ = broker("listener 1883\npassword_file /etc/mosquitto/passwd\n", "1.6.12")
    assert open_listener.allow_anonymous is True
    assert guarded.allow_anonymous is False
    assert "password_file" in guarded.notes["allow_anonymous"]


def test_port_opens_the_default_listener_on_every_address() -> None:
    (default,), _ = broker("port 1884\n")
    assert (default.port, default.bind, default.local_only, default.allow_anonymous) == (
        1884,
        None,
        False,
        False,
    )
    assert default.label == "mosquitto default listener (port 1884)"
    assert [e.line for e in default.evidence] == [1, 0]


def test_bind_address_and_bind_interface_lo_keep_a_listener_on_loopback() -> None:
    mqtt, _ = broker("bind_address localhost\nlistener 8883\nbind_interface lo\n")
    assert [(m.label, m.local_only) for m in mqtt] == [
        ("mosquitto default listener (port 1883, bind_address localhost)", True),
        ("mosquitto listener 8883", True),
    ]


def test_per_listener_mode_lets_anonymous_clients_into_the_default_listener() -> None:
    # mosquitto 2.0 applies its "refuse anonymous" default before it adds the default
    # listener: BROKER_CASES shows the broker accepting anonymous clients there.
    mqtt, _ = broker("per_listener_settings true\nport 1884\nlistener 1883\n")
    assert [(m.port, m.allow_anonymous) for m in mqtt] == [(1884, True), (1883, False)]


def test_mosquitto_2_without_listeners_runs_in_local_only_mode_allowing_anonymous() -> None:
    text = "pid_file /run/mosquitto/mosquitto.pid\nallow_anonymous false\n"
    mqtt, tls = broker(text)
    assert [(m.bind, m.port, m.local_only, m.allow_anonymous) for m in mqtt] == [
        ("127.0.0.1", 1883, True, True),
        ("::1", 1883, True, True),
    ]
    assert "whatever allow_anonymous says" in mqtt[0].notes["allow_anonymous"]
    assert [e.text for e in mqtt[0].evidence] == [
        "allow_anonymous false",
        "no listener, port or bind_address line",
    ]
    assert tls == []


def test_mosquitto_1_without_listeners_opens_the_default_listener_everywhere() -> None:
    (default,), _ = broker("pid_file /run/mosquitto.pid\n", "1.6.12")
    assert (default.port, default.local_only, default.allow_anonymous) == (1883, False, True)


def test_a_listener_option_before_any_listener_opens_the_default_listener() -> None:
    # 2.0 opens the default listener for certfile/keyfile, yet keeps its "local only"
    # flag: anonymous clients are allowed on every address (see BROKER_CASES).
    text = "certfile /etc/mosquitto/certs/gw.crt\nkeyfile /etc/mosquitto/certs/gw.key\n"
    (default,), (tls,) = broker(text)
    assert (default.port, default.local_only, default.tls, default.allow_anonymous) == (
        1883,
        False,
        True,
        True,
    )
    assert tls.min_version is None


def test_without_a_release_a_default_that_differs_is_unknown() -> None:
    (listener,), _ = broker("listener 1883\n", None)
    assert listener.allow_anonymous is None
    note = listener.notes["allow_anonymous"]
    assert "1.x allows" in note
    assert "2.0 refuses" in note


def test_without_a_release_what_both_releases_agree_on_is_known() -> None:
    (listener,), _ = broker("listener 1883\npassword_file /etc/mosquitto/passwd\n", None)
    (explicit,), _ = broker("listener 1883\nallow_anonymous true\n", None)
    assert listener.allow_anonymous is False  # 1.x: a password file; 2.0: the default
    assert explicit.allow_anonymous is True


def test_without_a_release_no_listener_may_mean_every_address_or_loopback() -> None:
    (listener,), _ = broker("pid_file /run/mosquitto.pid\n", None)
    assert listener.local_only is None  # 1.x: every address; 2.0: loopback only
    assert "127.0.0.1 and ::1" in listener.notes["local_only"]
    assert listener.allow_anonymous is True  # both releases allow anonymous clients here


def test_tls_version_unset_leaves_the_minimum_unknown() -> None:
    text = "listener 8883\ncertfile /c.crt\nkeyfile /c.key\n"
    (listener,), (tls,) = broker(text)
    assert (listener.tls, listener.tls_min_version, tls.min_version) == (True, None, None)
    assert "mosquitto 2.0 refuses TLS 1.0" in tls.notes["min_version"]
    assert listener.evidence[-1].text == "no tls_version line"


def test_tls_version_tlsv1_stops_mosquitto_2_but_is_the_only_version_of_1x() -> None:
    text = "listener 8883\ncafile /ca.crt\ncertfile /c.crt\nkeyfile /c.key\ntls_version tlsv1\n"
    _, (new,) = broker(text, "2.0.11")
    _, (old,) = broker(text, "1.6.12")
    assert (new.min_version, old.min_version) == (None, "tlsv1")
    assert "refuses to start" in new.notes["min_version"]


def test_mosquitto_1_needs_cafile_or_capath_to_enable_tls() -> None:
    text = "listener 8883\ncertfile /c.crt\nkeyfile /c.key\ntls_version tlsv1.2\n"
    (old,), old_tls = broker(text, "1.5.7")
    (new,), new_tls = broker(text, "2.0.11")
    assert (old.tls, old_tls) == (False, [])
    assert (new.tls, len(new_tls)) == (True, 1)


def test_psk_hint_makes_a_tls_listener() -> None:
    text = "listener 8884\npsk_hint gateway\npsk_file /etc/mosquitto/psk\ntls_version tlsv1.2\n"
    (listener,), (tls,) = broker(text)
    assert (listener.tls, tls.service, tls.min_version) == (True, "mqtts", "tlsv1.2")


DEBIAN_DEFAULT = """\
# Place your local configuration in /etc/mosquitto/conf.d/
#
# A full description of the configuration file is at
# /usr/share/doc/mosquitto/examples/mosquitto.conf.example

pid_file /run/mosquitto/mosquitto.pid

persistence true
persistence_location /var/lib/mosquitto/

log_dest file /var/log/mosquitto/mosquitto.log

include_dir /etc/mosquitto/conf.d
"""


def test_listeners_hidden_in_include_dir_are_unknown() -> None:
    (hidden,), tls = broker(DEBIAN_DEFAULT)
    assert hidden.label == "mosquitto listeners of include_dir /etc/mosquitto/conf.d"
    assert (hidden.allow_anonymous, hidden.password_file) == (None, None)
    assert (hidden.tls, hidden.local_only) == (None, None)
    assert "/etc/mosquitto/conf.d" in hidden.notes["allow_anonymous"]
    assert [e.line for e in hidden.evidence] == [13, 0]
    # They may use TLS, of a version nobody can tell from this file.
    (endpoint,) = tls
    assert endpoint.min_version is None


def test_include_dir_read_after_a_global_setting_may_override_it() -> None:
    text = (
        "listener 1883\nallow_anonymous false\npassword_file /etc/mosquitto/passwd\n"
        "include_dir /etc/mosquitto/conf.d\n"
    )
    (listener,), _ = broker(text)
    assert listener.allow_anonymous is None
    assert "include_dir /etc/mosquitto/conf.d" in listener.notes["allow_anonymous"]
    assert listener.password_file is True  # a second password_file stops the broker


def test_a_global_setting_after_include_dir_is_known() -> None:
    text = "include_dir /etc/mosquitto/conf.d\nlistener 1883\nallow_anonymous false\n"
    (listener,), _ = broker(text)
    assert listener.allow_anonymous is False


def test_an_option_after_include_dir_for_an_earlier_listener_is_unknown() -> None:
    text = (
        "per_listener_settings true\n"
        "listener 8883\n"
        "certfile /c.crt\nkeyfile /c.key\n"
        "include_dir /etc/mosquitto/conf.d\n"
        "tls_version tlsv1.2\n"
        "allow_anonymous false\n"
    )
    (listener,), _ = broker(text)
    assert (listener.tls_min_version, listener.allow_anonymous) == (None, None)
    assert "after include_dir" in listener.notes["allow_anonymous"]


# --- the broker itself ---------------------------------------------------------------------------

# (configuration, {port placeholder: whether an anonymous CONNECT is accepted}).
BROKER_CASES = {
    "last-global-wins": (
        "listener {a} 127.0.0.1\nallow_anonymous true\nlistener {b} 127.0.0.1\n"
        "allow_anonymous false\n",
        {"a": False, "b": False},
    ),
    "global-before-listeners": (
        "allow_anonymous true\nlistener {a} 127.0.0.1\nlistener {b} 127.0.0.1\n",
        {"a": True, "b": True},
    ),
    "per-listener": (
        "per_listener_settings true\nlistener {a} 127.0.0.1\nallow_anonymous true\n"
        "listener {b} 127.0.0.1\n",
        {"a": True, "b": False},
    ),
    "per-listener-default-listener": (
        "per_listener_settings true\nbind_address 127.0.0.1\nport {a}\nlistener {b} 127.0.0.1\n",
        {"a": True, "b": False},
    ),
}


def mosquitto_or_skip() -> Path:
    binary = find_mosquitto()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide mosquitto (see .ci/run)")
        pytest.skip("needs mosquitto")
    return binary


def broker_version(binary: Path) -> str:
    help_text = subprocess.run([str(binary), "-h"], capture_output=True, text=True, check=False)
    return help_text.stdout.split("version", 1)[1].split()[0]  # "mosquitto version 2.0.11"


@contextmanager
def running(binary: Path, folder: Path, text: str, ports: list[int]) -> Iterator[None]:
    config = folder / "mosquitto.conf"
    config.write_text(f"persistence false\nlog_dest stderr\n{text}")
    process = subprocess.Popen(
        [str(binary), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        for number in ports:
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    socket.create_connection(("127.0.0.1", number), timeout=0.5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"mosquitto does not listen on {number}"
                    time.sleep(0.02)
        yield
    finally:
        process.terminate()
        process.communicate(timeout=10)


def anonymous_connect(number: int, wrap: ssl.SSLContext | None = None) -> bool:
    """Whether the broker accepts an MQTT 3.1.1 CONNECT without a username (CONNACK 0)."""
    connect = bytes([0x10, 16, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 4]) + b"test"
    with socket.create_connection(("127.0.0.1", number), timeout=5) as plain:
        if wrap is None:
            plain.sendall(connect)
            connack = plain.recv(4)
        else:
            with wrap.wrap_socket(plain) as stream:
                stream.sendall(connect)
                connack = stream.recv(4)
    assert connack[:2] == b"\x20\x02", connack
    return connack[3] == 0


@pytest.mark.parametrize("case", sorted(BROKER_CASES))
def test_the_broker_accepts_anonymous_clients_where_the_facts_say(
    case: str, tmp_path: Path
) -> None:
    binary = mosquitto_or_skip()
    template, accepted = BROKER_CASES[case]
    numbers = dict(zip(("a", "b"), free_ports(2), strict=True))
    text = template.format(**numbers)
    mqtt, _ = broker(text, broker_version(binary))
    facts = {name: port(mqtt, number).allow_anonymous for name, number in numbers.items()}
    assert facts == accepted
    with running(binary, tmp_path, text, list(numbers.values())):
        seen = {name: anonymous_connect(number) for name, number in numbers.items()}
    assert seen == accepted


def tls_client(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1_1 itself
        context.minimum_version = context.maximum_version = version
    return context


def test_the_broker_honours_tls_version_and_without_it_may_accept_tls_1_1() -> None:
    # Why an unset tls_version is "unknown" rather than mosquitto.conf(5)'s "TLS 1.2": the
    # broker (2.0.11, OpenSSL 3.0) accepts TLS 1.1 once `ciphers` lowers the security level.
    binary = mosquitto_or_skip()
    strict, loose = free_ports(2)
    with certificate_folder() as folder:
        text = (
            f"per_listener_settings true\n"
            f"listener {strict} 127.0.0.1\ncertfile {folder}/cert.pem\nkeyfile {folder}/key.pem\n"
            "tls_version tlsv1.2\nallow_anonymous true\n"
            f"listener {loose} 127.0.0.1\ncertfile {folder}/cert.pem\nkeyfile {folder}/key.pem\n"
            "ciphers ALL:@SECLEVEL=0\nallow_anonymous true\n"
        )
        _, tls = broker(text, broker_version(binary))
        assert [(t.port, t.min_version) for t in tls] == [(strict, "tlsv1.2"), (loose, None)]
        with running(binary, folder, text, [strict, loose]):
            assert anonymous_connect(strict, tls_client(ssl.TLSVersion.TLSv1_2))
            with pytest.raises(ssl.SSLError):
                anonymous_connect(strict, tls_client(ssl.TLSVersion.TLSv1_1))
            assert anonymous_connect(loose, tls_client(ssl.TLSVersion.TLSv1_1))
