"""OpenWrt's remote log host (logd's ``log_ip``) and NTP servers (sysntpd's ``ntp`` section)
from /etc/config/system, as ``uci show`` prints it or the file holds it.

The texts are OpenWrt's own: ``uci show`` of a 23.05 device, the file base-files'
config_generate writes on first boot. What log.init and sysntpd would do with a value
validate_data might reject, or with servers only DHCP would give, is unknown (None).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.engine import evaluate
from smmcheck.facts import DeviceFacts, Endpoint
from smmcheck.mapping import load_mappings
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.detect import detect_uci_package
from smmcheck.parse.openwrt import parse_openwrt
from smmcheck.policies import load_policies
from smmcheck.runner import CheckOptions, run_check

POLICIES = load_policies()

# `uci show system` of an OpenWrt 23.05 router whose log goes to the plant's syslog host.
SHOW = """\
system.@system[0]=system
system.@system[0].hostname='cell-rtr02'
system.@system[0].timezone='CET-1CEST,M3.5.0,M10.5.0/3'
system.@system[0].zonename='Europe/Berlin'
system.@system[0].ttylogin='0'
system.@system[0].log_size='64'
system.@system[0].urandom_seed='0'
system.@system[0].compat_version='1.1'
system.@system[0].log_ip='10.99.0.20'
system.@system[0].log_port='5514'
system.@system[0].log_proto='tcp'
system.ntp=timeserver
system.ntp.enabled='1'
system.ntp.enable_server='0'
system.ntp.server='10.99.0.21' '10.99.0.22'
"""

# /etc/config/system as config_generate writes it (generate_static_system).
FIRST_BOOT = """\

config system
\toption hostname 'OpenWrt'
\toption timezone 'UTC'
\toption ttylogin '0'
\toption log_size '64'
\toption urandom_seed '0'

config timeserver 'ntp'
\toption enabled '1'
\toption enable_server '0'
\tlist server '0.openwrt.pool.ntp.org'
\tlist server '1.openwrt.pool.ntp.org'
\tlist server '2.openwrt.pool.ntp.org'
\tlist server '3.openwrt.pool.ntp.org'
"""

NETWORK = """\
config interface 'loopback'
\toption device 'lo'
\toption proto 'static'
\toption ipaddr '127.0.0.1'
\toption netmask '255.0.0.0'
"""


def device(**files: str | None) -> DeviceFacts:
    """Facts for a device given as artifacts (``uci_show=`` stands for ``uci-show``)."""
    artifacts = tuple(
        Artifact(name.replace("_", "-", 1), f"test/{name}", text or "", absent=text is None)
        for name, text in files.items()
    )
    return parse_openwrt(artifacts, source="test", sha256="0", name_hint="gw1")


def release(version: str) -> str:
    return f"DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='{version}'\n"


def hosts(facts: DeviceFacts) -> list[tuple[str, str, list[int]]] | None:
    return _summary(facts.logging_hosts)


def servers(facts: DeviceFacts) -> list[tuple[str, str, list[int]]] | None:
    return _summary(facts.ntp_servers)


def _summary(items: tuple[Endpoint, ...] | None) -> list[tuple[str, str, list[int]]] | None:
    if items is None:
        return None
    return [(e.label, e.address, [line.line for line in e.evidence]) for e in items]


def verdict(policy: str, facts: DeviceFacts) -> str:
    return evaluate(POLICIES.policies[policy], facts, POLICIES.lists).status


# --- logd's remote forwarder ---------------------------------------------------------------


def test_log_ip_with_its_port_and_protocol_cites_their_lines() -> None:
    facts = device(uci_show=SHOW)
    assert hosts(facts) == [("log_ip 10.99.0.20 (tcp port 5514)", "10.99.0.20", [9, 10, 11])]
    assert verdict("logging-remote", facts) == "pass"


def test_first_boot_system_file_forwards_no_log() -> None:
    facts = device(uci_system=FIRST_BOOT, uci_network=NETWORK)
    assert hosts(facts) == []
    assert verdict("logging-remote", facts) == "fail"


def test_log_remote_off_stops_the_forwarder() -> None:
    off = SHOW.replace("log_proto='tcp'\n", "log_proto='tcp'\nsystem.@system[0].log_remote='0'\n")
    assert hosts(device(uci_show=off)) == []
    on = SHOW.replace("log_proto='tcp'\n", "log_proto='tcp'\nsystem.@system[0].log_remote='1'\n")
    assert hosts(device(uci_show=on)) == [
        ("log_ip 10.99.0.20 (tcp port 5514)", "10.99.0.20", [9, 10, 11, 12])
    ]


def test_an_empty_log_ip_is_unset() -> None:
    # validate_data takes an empty value as unset, and log.init returns without log_ip.
    empty = SHOW.replace("log_ip='10.99.0.20'", "log_ip=''")
    assert hosts(device(uci_show=empty)) == []


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # ubox validated log_ip as an IP address until 2021 (ec83fb9c): "validation failed".
        ("19.07.10", []),
        # 21.02 branched before the fix: whether it has it is not known here.
        ("21.02.7", None),
        (None, None),
        (
            "23.05.3",
            [("log_ip syslog.plant.example.net (udp port 514)", "syslog.plant.example.net", [3])],
        ),
    ],
)
def test_a_log_host_name_counts_only_where_the_release_accepts_it(
    version: str | None, expected: list[tuple[str, str, list[int]]] | None
) -> None:
    text = (
        "system.@system[0]=system\n"
        "system.@system[0].hostname='cell-rtr05'\n"
        "system.@system[0].log_ip='syslog.plant.example.net'\n"
    )
    facts = device(uci_show=text, openwrt_release=release(version) if version else None)
    assert hosts(facts) == expected


@pytest.mark.parametrize(
    "option",
    [
        "log_port='syslog'",  # not a port number
        "log_proto='tls'",  # or("tcp", "udp")
        "log_remote='maybe'",  # not a boolean
        "log_size='64k'",  # not an unsigned integer
    ],
)
def test_a_value_validate_data_may_reject_leaves_the_host_unknown(option: str) -> None:
    text = SHOW + f"system.@system[0].{option}\n"
    facts = device(uci_show=text)
    assert hosts(facts) is None
    assert verdict("logging-remote", facts) == "inconclusive"


def test_rsyslog_may_forward_what_logd_does_not() -> None:
    rsyslog = "rsyslog.syslog=syslog\nrsyslog.syslog.udp_input='1'\n"
    first_boot = SHOW.replace("system.@system[0].log_ip='10.99.0.20'\n", "")
    assert hosts(device(uci_show=first_boot)) == []
    assert hosts(device(uci_show=first_boot + rsyslog)) is None
    # logd's own forwarder still counts when it has a log_ip.
    assert hosts(device(uci_show=SHOW + rsyslog)) is not None


def test_net_snmp_system_section_is_not_logds() -> None:
    # snmpd's `config system` (sysLocation) is another package's section type.
    snmpd = "snmpd.@system[0]=system\nsnmpd.@system[0].sysLocation='office'\n"
    snmpd += "snmpd.@system[0].log_ip='10.99.0.20'\n"
    first_boot = SHOW.replace("system.@system[0].log_ip='10.99.0.20'\n", "")
    assert hosts(device(uci_show=first_boot + snmpd)) == []


def test_without_the_system_package_both_are_unknown() -> None:
    facts = device(uci_dropbear="config dropbear\n\toption Port '22'\n")
    assert (facts.logging_hosts, facts.ntp_servers) == (None, None)
    assert verdict("ntp-configured", facts) == "inconclusive"


# --- sysntpd ---------------------------------------------------------------------------


def test_first_boot_pool_servers_are_ntp_servers() -> None:
    facts = device(uci_system=FIRST_BOOT, uci_network=NETWORK)
    found = servers(facts)
    assert found is not None
    assert [address for _, address, _ in found] == [f"{n}.openwrt.pool.ntp.org" for n in range(4)]
    # Each server's own line and the `enabled` line it rests on.
    assert [lines for _, _, lines in found] == [[10, 12], [10, 13], [10, 14], [10, 15]]
    assert verdict("ntp-configured", facts) == "pass"


def test_uci_show_list_on_one_line_gives_each_server() -> None:
    found = servers(device(uci_show=SHOW))
    assert found == [
        ("ntp server 10.99.0.21", "10.99.0.21", [13, 15]),
        ("ntp server 10.99.0.22", "10.99.0.22", [13, 15]),
    ]


def test_a_server_option_with_several_words_is_split_as_sysntpd_does() -> None:
    text = "config timeserver 'ntp'\n\toption server '10.99.0.21 10.99.0.22'\n"
    found = servers(device(uci_system=text, uci_network=NETWORK))
    assert [address for _, address, _ in found or []] == ["10.99.0.21", "10.99.0.22"]


def test_sysntpd_disabled_synchronises_nothing() -> None:
    facts = device(uci_show=SHOW.replace("ntp.enabled='1'", "ntp.enabled='0'"))
    assert servers(facts) == []
    assert verdict("ntp-configured", facts) == "fail"


def test_no_server_leaves_only_what_dhcp_hands_out() -> None:
    no_server = SHOW.replace("system.ntp.server='10.99.0.21' '10.99.0.22'\n", "")
    # use_dhcp defaults to 1: ntpd may run with servers from DHCP option 42.
    assert servers(device(uci_show=no_server)) is None
    assert servers(device(uci_show=no_server + "system.ntp.use_dhcp='0'\n")) == []
    # No `ntp` section at all means sysntpd's defaults: DHCP's servers only.
    no_section = "\n".join(line for line in SHOW.splitlines() if "system.ntp" not in line)
    assert servers(device(uci_show=no_section)) is None


def test_chrony_may_keep_the_time_when_sysntpd_does_not() -> None:
    off = SHOW.replace("ntp.enabled='1'", "ntp.enabled='0'")
    chrony = "chrony.@pool[0]=pool\nchrony.@pool[0].hostname='2.openwrt.pool.ntp.org'\n"
    assert servers(device(uci_show=off + chrony)) is None


def test_a_value_validate_data_may_reject_leaves_ntp_unknown() -> None:
    assert servers(device(uci_show=SHOW.replace("enabled='1'", "enabled='enable'"))) is None
    bad = SHOW.replace("'10.99.0.22'", "'ntp server!'")
    assert servers(device(uci_show=bad)) is None


def test_a_partial_folder_cannot_rule_out_another_ntp_daemon() -> None:
    # Without network, the folder is not known to be whole: chrony may be installed.
    text = "config timeserver 'ntp'\n\toption enabled '0'\n"
    assert servers(device(uci_system=text)) is None
    assert servers(device(uci_system=text, uci_network=NETWORK)) == []


# --- a lone /etc/config/system ---------------------------------------------------------------


def test_a_lone_system_file_is_judged_on_logging_and_ntp(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "config" / "system"
    path.parent.mkdir(parents=True)
    path.write_text(FIRST_BOOT, encoding="utf-8")
    assert detect_uci_package(FIRST_BOOT, str(path)) == "system"
    options = CheckOptions(policies=POLICIES, mappings=load_mappings(POLICIES), use_cache=False)
    report = run_check([path], options)
    assert [d.platform for d in report.devices] == ["openwrt"]
    results = {r.policy: r for r in report.results}
    assert {p: r.status for p, r in results.items()} == {
        "logging-remote": "fail",
        "ntp-configured": "pass",
    }
    assert [e.line for e in results["ntp-configured"].evidence] == [10, 12, 13, 14, 15]
    # Judged as logd's and sysntpd's: chrony and rsyslog are outside a lone file's scope.
    disabled = FIRST_BOOT.replace("enabled '1'", "enabled '0'")
    path.write_text(disabled, encoding="utf-8")
    report = run_check([path], options)
    assert {r.policy: r.status for r in report.results}["ntp-configured"] == "fail"
