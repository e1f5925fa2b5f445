"""One OpenWrt /etc/config/<package> file given on its own (a backup, a repository that
keeps a few of them): recognised as OpenWrt, and judged only on what that package
establishes, exactly as a lone sshd_config is.

The files are in OpenWrt's own syntax, as its packages ship them or ``uci export`` writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.mapping import load_mappings
from smmcheck.parse import UnsupportedPlatform, parse_config
from smmcheck.parse.detect import detect_uci_package
from smmcheck.policies import load_policies
from smmcheck.report.console import render_console
from smmcheck.results import Report
from smmcheck.runner import CheckOptions, run_check

POLICIES = load_policies()

DROPBEAR = """\
# See https://openwrt.org/docs/guide-user/base-system/dropbear
config dropbear main
\toption enable '1'
\toption PasswordAuth '1'
\toption RootPasswordAuth '1'
\toption Port         '22'
"""

DROPBEAR_HARDENED = """\

config dropbear
\toption PasswordAuth 'off'
\toption RootPasswordAuth 'off'
\toption Port '22'
"""

FIREWALL = """\
config defaults
\toption syn_flood\t1
\toption input\t\tACCEPT
\toption output\t\tACCEPT
\toption forward\t\tREJECT

config zone
\toption name\t\tlan
\tlist   network\t\t'lan'
\toption input\t\tACCEPT
\toption output\t\tACCEPT
\toption forward\t\tACCEPT

config zone
\toption name\t\twan
\tlist   network\t\t'wan'
\tlist   network\t\t'wan6'
\toption input\t\tREJECT
\toption output\t\tACCEPT
\toption forward\t\tREJECT
\toption masq\t\t1

config forwarding
\toption src\t\tlan
\toption dest\t\twan
"""

UHTTPD_CLEAR = """\
config uhttpd 'main'
\tlist listen_http '0.0.0.0:80'
\tlist listen_http '[::]:80'
\toption home '/www'
\toption cgi_prefix '/cgi-bin'
"""

UPNPD = """\
config upnpd config
\toption enabled\t\t1
\toption enable_natpmp\t1
\toption enable_upnp\t1
\toption secure_mode\t1
\toption internal_iface\tlan
\toption port\t\t5000

config perm_rule
\toption action\t\tallow
\toption ext_ports\t1024-65535
\toption int_addr\t\t0.0.0.0/0
\toption int_ports\t1024-65535
"""

SNMPD = """\
config agent
\toption agentaddress UDP:161

config com2sec public
\toption secname ro
\toption source default
\toption community public

config group public_v2c
\toption group public
\toption version v2c
\toption secname ro

config access public_access
\toption group public
\toption context none
\toption version any
\toption level noauth
\toption prefix exact
\toption read all
\toption write none
\toption notify none
"""

NETWORK = """\
config interface 'loopback'
\toption device 'lo'
\toption proto 'static'
\toption ipaddr '127.0.0.1'
\toption netmask '255.0.0.0'

config interface 'lan'
\toption device 'br-lan'
\toption proto 'static'
\toption ipaddr '192.168.1.1'
\toption netmask '255.255.255.0'
"""


def check(tmp_path: Path, name: str, text: str) -> Report:
    """Run ``smmcheck check`` on one file saved as ``name`` under ``tmp_path``."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    options = CheckOptions(policies=POLICIES, mappings=load_mappings(POLICIES), use_cache=False)
    return run_check([path], options)


def verdicts(report: Report) -> dict[str, str]:
    assert [d.status for d in report.devices] == ["ok"], [d.error for d in report.devices]
    return {r.policy: r.status for r in report.results}


# --- which package a file is ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "package"),
    [
        # The path names the package, as UCI itself does.
        ("backup/etc/config/dropbear", DROPBEAR, "dropbear"),
        ("EFForg__OpenWireless__etc_config_firewall", FIREWALL, "firewall"),
        (
            "router__etc_config_wireless",
            "config wifi-device 'radio0'\n\toption type 'x'\n",
            "wireless",
        ),
        # OpenWrt's source tree: package/.../files/dropbear.config.
        ("package_network_services_dropbear_files_dropbear.config", DROPBEAR, "dropbear"),
        ("net_miniupnpd_files_upnpd.config", UPNPD, "upnpd"),
        # No telling name: the section types only one package uses decide.
        ("saved.txt", FIREWALL, "firewall"),
        ("saved.txt", SNMPD, "snmpd"),
        ("saved.txt", UHTTPD_CLEAR, "uhttpd"),
        ("saved.txt", NETWORK, "network"),
    ],
)
def test_a_lone_uci_file_is_recognised_with_its_package(
    source: str, text: str, package: str
) -> None:
    assert detect_uci_package(text, source) == package


@pytest.mark.parametrize(
    ("source", "text"),
    [
        # `config rule` is both a firewall rule and a network ip rule.
        ("saved.txt", "config rule\n\toption src 'wan'\n\toption target 'ACCEPT'\n"),
        # The name says firewall, the sections say network: which one is unknown.
        ("x__etc_config_firewall", NETWORK),
        # Section types of two packages in one file.
        ("saved.txt", DROPBEAR + "\n" + FIREWALL),
        # An sshd_config saved under a UCI name is still not UCI.
        ("etc/config/dropbear", "Port 22\nPermitRootLogin no\n"),
    ],
)
def test_ambiguous_or_non_uci_files_are_not_recognised(source: str, text: str) -> None:
    assert detect_uci_package(text, source) is None


def test_an_unrecognised_file_is_still_reported_as_such() -> None:
    text = "config rule\n\toption src 'wan'\n"
    with pytest.raises(UnsupportedPlatform, match="not recognised"):
        parse_config(text, source="saved.txt", name_hint="saved")


# --- what each package establishes on its own ---------------------------------------------


def test_lone_dropbear_is_judged_on_ssh_only(tmp_path: Path) -> None:
    report = check(tmp_path, "etc/config/dropbear", DROPBEAR)
    # Telnet is not in the file: a dropbear file cannot say that no telnetd runs.
    assert verdicts(report) == {"ssh-no-root-password-login": "fail"}
    (result,) = report.results
    assert [(e.line, e.text) for e in result.evidence] == [
        (2, "config dropbear main"),
        (3, "option enable '1'"),
        (4, "option PasswordAuth '1'"),
        (5, "option RootPasswordAuth '1'"),
    ]
    assert {e.source for e in result.evidence} == {str(tmp_path / "etc/config/dropbear")}
    assert report.devices[0].platform == "openwrt"


def test_lone_dropbear_without_root_passwords_passes(tmp_path: Path) -> None:
    report = check(tmp_path, "etc/config/dropbear", DROPBEAR_HARDENED)
    assert verdicts(report) == {"ssh-no-root-password-login": "pass"}
    assert [e.line for e in report.results[0].evidence] == [2, 3, 4]


def test_lone_firewall_judges_the_wan_zone(tmp_path: Path) -> None:
    report = check(tmp_path, "firewall.config", FIREWALL)
    assert verdicts(report) == {"wan-input-restricted": "pass"}
    accepting = FIREWALL.replace("input\t\tREJECT", "input\t\tACCEPT")
    report = check(tmp_path, "etc/config/firewall", accepting)
    assert verdicts(report) == {"wan-input-restricted": "fail"}
    # The wan zone's header, its input policy and masq (what makes it WAN-facing).
    assert [e.line for e in report.results[0].evidence] == [14, 18, 21]


def test_a_firewall_without_zones_is_inconclusive(tmp_path: Path) -> None:
    text = "\nconfig defaults\n\toption input 'ACCEPT'\n\toption output 'ACCEPT'\n"
    report = check(tmp_path, "etc/config/firewall", text)
    assert verdicts(report) == {"wan-input-restricted": "inconclusive"}


def test_lone_uhttpd_judges_clear_text_http(tmp_path: Path) -> None:
    report = check(tmp_path, "etc/config/uhttpd", UHTTPD_CLEAR)
    assert verdicts(report) == {"http-mgmt-disabled": "fail"}
    assert [e.line for e in report.results[0].evidence] == [1, 2, 3]
    redirected = UHTTPD_CLEAR + "\tlist listen_https '0.0.0.0:443'\n\toption redirect_https '1'\n"
    assert verdicts(check(tmp_path, "etc/config/uhttpd", redirected)) == {
        "http-mgmt-disabled": "pass"
    }


def test_lone_upnpd_judges_what_miniupnpd_opens(tmp_path: Path) -> None:
    report = check(tmp_path, "etc/config/upnpd", UPNPD)
    assert verdicts(report) == {"upnp-disabled": "fail"}
    message = report.results[0].message
    # Without /etc/config/network the LAN address is unknown: the interface is named.
    assert "udp 0.0.0.0:1900" in message and "tcp lan:5000" in message
    assert "udp lan:5351" in message
    disabled = UPNPD.replace("enabled\t\t1", "enabled\t\t0")
    assert verdicts(check(tmp_path, "etc/config/upnpd", disabled)) == {"upnp-disabled": "pass"}


def test_lone_snmpd_judges_net_snmp_communities(tmp_path: Path) -> None:
    report = check(tmp_path, "etc/config/snmpd", SNMPD)
    assert verdicts(report) == {"snmp-no-default-community": "fail"}
    (result,) = report.results
    assert "public" not in " ".join(e.text for e in result.evidence)
    # v3 only: net-snmp serves no community, and mini_snmpd (another package, not given)
    # is out of this file's scope rather than an unknown that blocks the verdict.
    com2sec = "config com2sec public\n\toption secname ro\n\toption source default\n"
    v3 = SNMPD.replace(com2sec + "\toption community public\n\n", "").replace("v2c", "usm")
    assert "community" not in v3
    assert verdicts(check(tmp_path, "etc/config/snmpd", v3)) == {
        "snmp-no-default-community": "pass"
    }


def test_lone_network_file_is_recognised_but_nothing_is_judged(tmp_path: Path) -> None:
    report = check(tmp_path, "etc/config/network", NETWORK)
    assert verdicts(report) == {}
    assert report.devices[0].platform == "openwrt"
    assert report.summary.exit_code == 0
    text = render_console(report, color=False)
    assert "network  [openwrt]: nothing judged: none of the policies run applies" in text
