"""OpenWrt facts: the UCI reader (``uci show`` and /etc/config files), BusyBox netstat,
and what dropbear, uhttpd, net-snmp, mini_snmpd and miniupnpd establish.

Fixtures use OpenWrt's own syntax: the files its packages ship, ``uci show`` output as
the device prints it, BusyBox ``netstat -tlnup`` columns. The corpus tests read real
published configurations from ../shared/corpus/openwrt and are skipped without it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from smmcheck.engine import evaluate
from smmcheck.facts import DeviceFacts
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.openwrt import parse_openwrt
from smmcheck.parse.sockets import netstat_facts
from smmcheck.parse.uci import read_file, read_show, read_uci
from smmcheck.policies import load_policies

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openwrt"
POLICIES = load_policies()


def device(**files: str | None) -> DeviceFacts:
    """Facts for a device given as artifacts (``uci_show=`` stands for ``uci-show``)."""
    artifacts = tuple(
        Artifact(name.replace("_", "-", 1), f"test/{name}", text or "", absent=text is None)
        for name, text in files.items()
    )
    return parse_openwrt(artifacts, source="test", sha256="0", name_hint="gw1")


def verdict(policy: str, facts: DeviceFacts) -> str:
    return evaluate(POLICIES.policies[policy], facts, POLICIES.lists).status


# --- the UCI reader ---------------------------------------------------------------------

DROPBEAR_FILE = """\
# See https://openwrt.org/docs/guide-user/base-system/dropbear
config dropbear main
\toption enable '1'
\toption PasswordAuth '1'
\toption RootPasswordAuth '1'
\toption Port         '22'
#\toption BannerFile   '/etc/banner'
"""

DROPBEAR_SHOW = """\
dropbear.main=dropbear
dropbear.main.enable='1'
dropbear.main.PasswordAuth='1'
dropbear.main.RootPasswordAuth='1'
dropbear.main.Port='22'
"""


def test_file_and_uci_show_read_to_the_same_sections() -> None:
    from_file = read_file(Artifact("uci-dropbear", "f", DROPBEAR_FILE), "dropbear")
    from_show = read_show(Artifact("uci-show", "s", DROPBEAR_SHOW))
    for sections in (from_file, from_show):
        assert [(s.package, s.type, s.ref) for s in sections] == [("dropbear", "dropbear", "main")]
        values = {name: [v.value for v in vs] for name, vs in sections[0].options.items()}
        assert values == {
            "enable": ["1"],
            "PasswordAuth": ["1"],
            "RootPasswordAuth": ["1"],
            "Port": ["22"],
        }
    assert [v.line for vs in from_file[0].options.values() for v in vs] == [3, 4, 5, 6]
    assert [v.line for vs in from_show[0].options.values() for v in vs] == [2, 3, 4, 5]
    assert from_file[0].header.line == 2


def test_uci_file_quoting_comments_and_lists() -> None:
    text = """\
package upnpd

config upnpd config
\toption enabled\t\t0
\tlist listen_http\t0.0.0.0:80
\tlist listen_http '[::]:80'
\toption comment\t\t"Allow high ports"   # a trailing comment
\toption int_addr\t\t0.0.0.0/0\t# Does not override secure_mode
\toption enabled '1'

config perm_rule
\toption action 'allow'

config upnpd
\toption port 5000
"""
    sections = read_file(Artifact("uci-upnpd", "f", text), "upnpd")
    first = sections[0]
    assert first.values("listen_http")[0].value == "0.0.0.0:80"
    assert [v.value for v in first.values("listen_http")] == ["0.0.0.0:80", "[::]:80"]
    assert first.get("comment") is not None and first.get("comment").value == "Allow high ports"
    assert first.get("int_addr") is not None and first.get("int_addr").value == "0.0.0.0/0"
    # A later `option` replaces the earlier one, as UCI does.
    assert first.flag("enabled", False) == (True, first.get("enabled"))
    # Anonymous sections count every section of their type, named ones included.
    assert [s.ref for s in sections] == ["config", "@perm_rule[0]", "@upnpd[1]"]


def test_uci_show_lists_escapes_and_unquoted_values() -> None:
    text = """\
uhttpd.main=uhttpd
uhttpd.main.listen_http='0.0.0.0:80' '[::]:80'
uhttpd.main.realm='it'\\''s mine'
dropbear.@dropbear[0]=dropbear
dropbear.@dropbear[0].PasswordAuth=off
"""
    sections = {s.ref: s for s in read_show(Artifact("uci-show", "s", text))}
    assert [v.value for v in sections["main"].values("listen_http")] == ["0.0.0.0:80", "[::]:80"]
    assert sections["main"].get("realm") is not None
    assert sections["main"].values("realm")[0].value == "it's mine"
    # uci before 2014 printed values unquoted.
    assert sections["@dropbear[0]"].flag("PasswordAuth", True)[0] is False


def test_flag_accepts_every_uci_boolean_and_rejects_others() -> None:
    text = "config x\n" + "".join(
        f"\toption o{i} '{word}'\n"
        for i, word in enumerate(["on", "yes", "true", "enabled", "1", "off", "no", "0", "maybe"])
    )
    section = read_file(Artifact("uci-x", "f", text), "x")[0]
    flags = [section.flag(f"o{i}", False)[0] for i in range(9)]
    assert flags == [True, True, True, True, True, False, False, False, None]
    assert section.flag("missing", True) == (True, None)


def test_read_uci_knows_which_packages_are_missing() -> None:
    show = read_uci((Artifact("uci-show", "s", DROPBEAR_SHOW),))
    assert show is not None and show.knows("uhttpd") and not show.of("uhttpd", "uhttpd")
    only_absent = read_uci((Artifact("uci-uhttpd", "u", "", absent=True),))
    assert only_absent is not None
    assert only_absent.knows("uhttpd") and not only_absent.knows("dropbear")
    assert read_uci((Artifact("openwrt-release", "r", "DISTRIB_ID='OpenWrt'"),)) is None


# --- BusyBox netstat --------------------------------------------------------------------

NETSTAT = """\
Active Internet connections (only servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      1290/dropbear
tcp        0      0 127.0.0.1:53            0.0.0.0:*               LISTEN      1700/dnsmasq
tcp        0      0 :::80                   :::*                    LISTEN      1318/uhttpd
tcp        0      0 ::1:53                  :::*                    LISTEN      -
udp        0      0 0.0.0.0:1900            0.0.0.0:*                           2345/miniupnpd
tcp6       0      0 :::22                   :::*                    LISTEN      1290/dropbear
"""


def test_netstat_lines_become_sockets_with_their_evidence() -> None:
    sockets = netstat_facts(Artifact("listening-sockets", "netstat -tlnup", NETSTAT))
    seen = [(s.protocol, s.address, s.port, s.process, s.service, s.local_only) for s in sockets]
    assert seen == [
        ("tcp", "0.0.0.0", 22, "dropbear", "ssh", False),
        ("tcp", "127.0.0.1", 53, "dnsmasq", "dns", True),
        ("tcp", "::", 80, "uhttpd", "http", False),
        ("tcp", "::1", 53, None, "dns", True),
        ("udp", "0.0.0.0", 1900, "miniupnpd", "upnp", False),
        ("tcp", "::", 22, "dropbear", "ssh", False),
    ]
    assert [s.evidence[0].line for s in sockets] == [3, 4, 5, 6, 7, 8]
    assert sockets[2].label == "tcp [::]:80 (uhttpd)"


def test_an_ss_listing_on_openwrt_is_read_as_ss() -> None:
    listing = 'tcp LISTEN 0 5 0.0.0.0:23 0.0.0.0:* users:(("telnetd",pid=1022,fd=3))\n'
    facts = device(listening_sockets=listing, uci_dropbear="config dropbear\n")
    assert facts.sockets is not None and [s.service for s in facts.sockets] == ["telnet"]
    assert verdict("telnet-disabled", facts) == "fail"


# --- dropbear ---------------------------------------------------------------------------


def test_dropbear_defaults_let_root_log_in_with_a_password() -> None:
    facts = device(uci_show="dropbear.@dropbear[0]=dropbear\ndropbear.@dropbear[0].Port='22'\n")
    assert facts.ssh is not None
    assert (facts.ssh.permit_root_login, facts.ssh.root_password_login) == ("yes", True)
    assert facts.ssh.software == "dropbear" and facts.ssh.accepted_versions == (2,)
    assert facts.ssh.ciphers is None and "built" in facts.ssh.notes["ciphers"]
    assert "RootPasswordAuth on (default)" in facts.ssh.notes["root_password_login"]
    banner = device(uci_dropbear="config dropbear\n", ssh_banner="dropbear_2022.82").ssh
    assert banner is not None and banner.software == "dropbear_2022.82"


@pytest.mark.parametrize(
    ("options", "permit", "password", "root"),
    [
        ("\toption RootPasswordAuth 'off'\n", "prohibit-password", True, False),
        ("\toption PasswordAuth 'off'\n", "yes", False, False),
        ("\toption RootLogin '0'\n", "no", True, False),
        ("\toption RunAsUser 'sshd'\n", "no", True, False),
        ("\toption RootPasswordAuth 'sometimes'\n", None, True, None),
    ],
)
def test_dropbear_options_map_to_openssh_words(
    options: str, permit: str | None, password: bool, root: bool | None
) -> None:
    facts = device(uci_dropbear="config dropbear\n" + options)
    assert facts.ssh is not None
    assert facts.ssh.permit_root_login == permit
    assert facts.ssh.password_authentication is password
    assert facts.ssh.root_password_login is root


def test_each_enabled_dropbear_instance_is_a_management_line() -> None:
    facts = device(
        uci_dropbear=(
            "config dropbear\n\toption Interface 'lan'\n\n"
            "config dropbear\n\toption Interface 'wan'\n\toption Port '2222'\n\n"
            "config dropbear\n\toption Interface 'guest'\n\toption enable '0'\n"
        )
    )
    assert facts.management_lines is not None
    lines = [(m.label, m.kind, m.telnet_accepted) for m in facts.management_lines]
    assert lines == [
        ("dropbear on lan:22", "service", False),
        ("dropbear on wan:2222", "service", False),
    ]
    assert [e.line for e in facts.management_lines[1].evidence] == [4, 5, 6]


def test_every_instance_disabled_means_no_root_login() -> None:
    facts = device(uci_dropbear="config dropbear\n\toption enable '0'\n")
    assert facts.ssh is not None and facts.ssh.root_password_login is False
    assert facts.management_lines == ()


def test_no_dropbear_configuration_leaves_ssh_unknown() -> None:
    facts = device(uci_show="system.@system[0]=system\n")
    assert facts.ssh is None and facts.management_lines == ()
    assert device(openwrt_release="DISTRIB_RELEASE='23.05.3'\n").management_lines is None


def test_release_14_07_without_a_listing_may_run_telnetd() -> None:
    facts = device(
        uci_dropbear="config dropbear\n",
        openwrt_release=(
            'DISTRIB_RELEASE="14.07"\nDISTRIB_DESCRIPTION="OpenWrt Barrier Breaker 14.07"\n'
        ),
    )
    assert facts.os_version == "OpenWrt Barrier Breaker 14.07"
    assert facts.management_lines is not None
    assert [m.telnet_accepted for m in facts.management_lines] == [False, None]
    later = device(uci_dropbear="config dropbear\n", openwrt_release="DISTRIB_RELEASE='19.07.10'\n")
    assert later.management_lines is not None
    assert [m.telnet_accepted for m in later.management_lines] == [False]


def test_os_version_from_ubus_board_when_there_is_no_release_file() -> None:
    board = (
        '{"hostname": "gw1", "model": "GL.iNet GL-MT300N-V2", '
        '"release": {"distribution": "OpenWrt", "version": "23.05.3", '
        '"description": "OpenWrt 23.05.3 r23809-234f1a2efa"}}'
    )
    assert device(board=board).os_version == "OpenWrt 23.05.3 r23809-234f1a2efa"
    assert device(board="not json").os_version is None


# --- uhttpd -----------------------------------------------------------------------------


def test_uhttpd_redirect_to_https_is_not_clear_text() -> None:
    show = (
        "uhttpd.main=uhttpd\n"
        "uhttpd.main.listen_http='0.0.0.0:80' '[::]:80'\n"
        "uhttpd.main.listen_https='0.0.0.0:443' '[::]:443'\n"
        "uhttpd.main.redirect_https='1'\n"
    )
    http = device(uci_show=show).http
    assert http is not None and (http.cleartext_enabled, http.tls_enabled) == (False, True)
    plain = device(uci_show=show.replace("redirect_https='1'", "redirect_https='0'")).http
    assert plain is not None and plain.cleartext_enabled is True
    # uhttpd can only redirect to an HTTPS listener it has.
    no_tls = device(uci_show=show.replace("listen_https", "ubus_prefix")).http
    assert no_tls is not None and no_tls.cleartext_enabled is True
    assert "needs an HTTPS listener" in no_tls.notes["cleartext_enabled"]


def test_uhttpd_listening_on_loopback_only_is_not_clear_text() -> None:
    text = "config uhttpd main\n\tlist listen_http '127.0.0.1:8080'\n\tlist listen_http '80'\n"
    http = device(uci_uhttpd=text).http
    assert http is not None and http.cleartext_enabled is True  # '80' is every address
    local = device(uci_uhttpd=text.replace("\tlist listen_http '80'\n", "")).http
    assert local is not None and (local.cleartext_enabled, local.tls_enabled) == (False, False)


def test_http_is_unknown_without_uci_and_absent_without_uhttpd() -> None:
    assert device(openwrt_release="DISTRIB_RELEASE='23.05.3'\n").http is None
    http = device(uci_show="dropbear.@dropbear[0]=dropbear\n").http
    assert http is not None and http.cleartext_enabled is False
    assert http.evidence[0].line == 0


# --- SNMP -------------------------------------------------------------------------------


def test_snmp_evidence_never_quotes_the_community() -> None:
    show = (
        "snmpd.q7Lr2mWx9Ks=com2sec\n"
        "snmpd.q7Lr2mWx9Ks.secname='rw'\n"
        "snmpd.q7Lr2mWx9Ks.source='default'\n"
        "snmpd.q7Lr2mWx9Ks.community='q7Lr2mWx9Ks'\n"
        "snmpd.g=group\nsnmpd.g.group='admins'\nsnmpd.g.version='v2c'\nsnmpd.g.secname='rw'\n"
        "snmpd.a=access\nsnmpd.a.group='admins'\nsnmpd.a.level='noauth'\n"
        "snmpd.a.read='all'\nsnmpd.a.write='all'\n"
    )
    facts = device(uci_show=show)
    assert facts.snmp_communities is not None
    (community,) = facts.snmp_communities
    assert (community.name, community.access) == ("q7Lr2mWx9Ks", "rw")
    assert [e.line for e in community.evidence] == [2, 3, 4]
    assert all("q7Lr2mWx9Ks" not in e.text for e in community.evidence)
    assert "q7Lr2mWx9Ks" not in community.label
    assert facts.snmp_groups is not None
    assert [(g.name, g.version) for g in facts.snmp_groups] == [("admins", "v2c")]


def test_old_style_and_trap_communities_count() -> None:
    text = """\
config access_HostIP
\toption HostIP '10.99.0.30'
\toption IPMask '32'
\toption Mode 'rwcommunity'
\toption CommunityName 'private'

config trap_HostIP
\toption HostIP '10.99.0.30'
\toption Community 'public'
\toption Type 'trap2sink'
"""
    facts = device(uci_snmpd=text, uci_mini_snmpd=None)
    assert facts.snmp_communities is not None
    assert [(c.name, c.access) for c in facts.snmp_communities] == [
        ("private", "rw"),
        ("public", "ro"),
    ]
    assert verdict("snmp-no-default-community", facts) == "fail"


def test_net_snmp_switched_off_serves_no_community() -> None:
    text = """\
config snmpd 'general'
\toption enabled '0'

config com2sec public
\toption secname ro
\toption source default
\toption community public
"""
    assert device(uci_snmpd=text, uci_mini_snmpd=None).snmp_communities == ()
    on = device(
        uci_snmpd=text.replace("enabled '0'", "enabled '1'"), uci_mini_snmpd=None
    ).snmp_communities
    assert on is not None and [c.name for c in on] == ["public"]


def test_mini_snmpd_default_community_is_public_and_disabled_is_none() -> None:
    text = "config mini_snmpd 'default'\n\toption enabled 1\n"
    facts = device(uci_mini_snmpd=text, uci_snmpd=None)
    assert facts.snmp_communities is not None
    assert [c.name for c in facts.snmp_communities] == ["public"]
    assert device(uci_mini_snmpd="config mini_snmpd\n", uci_snmpd=None).snmp_communities == ()


# --- miniupnpd --------------------------------------------------------------------------

UPNPD_2_0 = """\
# UPnP IGD & PCP/NAT-PMP Service Settings (v2.0)

config upnpd 'config'
\toption enabled                    '1'
\toption enabled_protocols          'upnp-igd'
\toption upnp_igd_http_port         '5001'

config internal_network
\toption interface                  'lan'
"""


def test_upnpd_sockets_follow_its_uci_section() -> None:
    network = "config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.20.0.1/24'\n"
    facts = device(uci_upnpd=UPNPD_2_0, uci_network=network)
    assert facts.sockets is not None
    ports = [(s.protocol, s.address, s.port, s.service) for s in facts.sockets]
    assert ports == [("udp", "0.0.0.0", 1900, "upnp"), ("tcp", "10.20.0.1", 5001, "upnp")]
    assert [e.line for e in facts.sockets[0].evidence] == [4, 5]
    natpmp = device(uci_upnpd=UPNPD_2_0.replace("'upnp-igd'", "'pcp+nat-pmp'"))
    assert natpmp.sockets is not None and [s.port for s in natpmp.sockets] == [5351]
    off = device(uci_upnpd=UPNPD_2_0.replace("enabled                    '1'", "enabled '0'"))
    assert off.sockets == ()


def test_a_socket_listing_outranks_the_uci_configuration() -> None:
    listing = "tcp        0      0 0.0.0.0:22   0.0.0.0:*   LISTEN      1290/dropbear\n"
    facts = device(uci_upnpd=UPNPD_2_0, listening_sockets=listing)
    assert facts.sockets is not None and [s.port for s in facts.sockets] == [22]
    assert verdict("upnp-disabled", facts) == "pass"
    assert verdict("upnp-disabled", device(uci_upnpd=UPNPD_2_0)) == "fail"


# --- published configurations ------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> dict[str, DeviceFacts]:
    """Each repository's files as one device (as its /etc/config would be)."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present")
    by_repo: dict[str, list[Artifact]] = defaultdict(list)
    for path in sorted(CORPUS.iterdir()):
        owner, repo, _ = path.name.split("__", 2)
        package = path.name.rsplit("_", 1)[-1].removesuffix(".config")
        by_repo[f"{owner}/{repo}"].append(
            Artifact(f"uci-{package}", path.name, path.read_text(encoding="utf-8"))
        )
    return {
        repo: parse_openwrt(tuple(files), source=repo, sha256="0", name_hint=repo)
        for repo, files in by_repo.items()
    }


def test_corpus_dropbear_root_password_logins(corpus: dict[str, DeviceFacts]) -> None:
    root = {
        repo: facts.ssh.root_password_login
        for repo, facts in corpus.items()
        if facts.ssh is not None
    }
    # EFF OpenWireless and agoodkind turn PasswordAuth and RootPasswordAuth off; OpenWrt's
    # own default, SzymczakA and the Dynalink backup keep them on.
    assert root == {
        "EFForg/OpenWireless": False,
        "SzymczakA/OpenWRTcfg": True,
        "agoodkind/openwrt-backups": False,
        "economic2408/dynalink-dl-wrx36-backup.cfg-unpacked": True,
        "openwrt/openwrt": True,
    }
    dynalink = corpus["economic2408/dynalink-dl-wrx36-backup.cfg-unpacked"]
    assert dynalink.management_lines is not None
    assert [m.label for m in dynalink.management_lines] == [
        "dropbear on wan:22",
        "dropbear on lan:22",
    ]
    assert verdict("ssh-no-root-password-login", dynalink) == "fail"
    assert verdict("ssh-no-root-password-login", corpus["EFForg/OpenWireless"]) == "pass"


def test_corpus_uhttpd_redirects_to_https(corpus: dict[str, DeviceFacts]) -> None:
    http = corpus["agoodkind/openwrt-backups"].http
    assert http is not None
    assert (http.cleartext_enabled, http.tls_enabled) == (False, True)
    assert [e.line for e in http.evidence] == [2, 3, 4, 5, 6, 7]


def test_corpus_net_snmp_keeps_the_shipped_communities(corpus: dict[str, DeviceFacts]) -> None:
    facts = corpus["EFForg/OpenWireless"]
    assert facts.snmp_communities is not None
    # The corpus keeps some of the repository's files: mini_snmpd's is not among them, so
    # an unknown item stands for it (it could only make the verdict inconclusive).
    found = [(c.name, c.access, c.acl) for c in facts.snmp_communities if c.name is not None]
    assert found == [("public", "ro", None), ("private", "rw", "localhost")]
    assert all(
        "public" not in e.text and "private" not in e.text
        for c in facts.snmp_communities
        for e in c.evidence
    )
    assert verdict("snmp-no-default-community", facts) == "fail"


def test_corpus_miniupnpd(corpus: dict[str, DeviceFacts]) -> None:
    def sockets(repo: str) -> list[tuple[str, str, int]]:
        found = corpus[repo].sockets
        assert found is not None
        return [(s.protocol, s.address, s.port) for s in found]

    # openwrt/packages ships `enabled 0`.
    assert sockets("openwrt/packages") == []
    # SzymczakA (GL.iNet) has no 'enabled' option, UPnP and NAT-PMP on, lan 192.168.8.3.
    assert sockets("SzymczakA/OpenWRTcfg") == [
        ("udp", "0.0.0.0", 1900),
        ("tcp", "192.168.8.3", 5000),
        ("udp", "192.168.8.3", 5351),
    ]
    # The Dynalink backup: enabled, enable_upnp 0, enable_natpmp 1: NAT-PMP only.
    dynalink = "economic2408/dynalink-dl-wrx36-backup.cfg-unpacked"
    assert sockets(dynalink) == [("udp", "192.168.216.1", 5351)]
    assert verdict("upnp-disabled", corpus[dynalink]) == "fail"
    assert verdict("upnp-disabled", corpus["openwrt/packages"]) == "pass"


def test_corpus_firewall_zones_read_as_published() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present")
    # No fact family holds firewall zones yet; the reader must still see what a future
    # check would flag: EFF's and the Dynalink's wan zones accept input, OpenWrt's rejects.
    expected = {
        "EFForg__OpenWireless__etc_config_firewall": "ACCEPT",
        "economic2408__dynalink-dl-wrx36-backup.cfg-unpacked__etc_config_firewall": "ACCEPT",
        "SzymczakA__OpenWRTcfg__etc_config_firewall": "REJECT",
        "openwrt__openwrt__package_network_config_firewall_files_firewall.config": "REJECT",
    }
    for name, policy in expected.items():
        text = (CORPUS / name).read_text(encoding="utf-8")
        sections = read_file(Artifact("uci-firewall", name, text), "firewall")
        inputs = {
            name_value.value: input_value.value
            for zone in sections
            if zone.type == "zone"
            and (name_value := zone.get("name")) is not None
            and (input_value := zone.get("input")) is not None
        }
        assert inputs["wan"] == policy, name
