"""Real published configurations (../shared/corpus): no crash, and verdicts a network
engineer agrees with. Skipped when the corpus is not beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.mapping import load_mappings
from smmcheck.policies import load_policies
from smmcheck.results import Report
from smmcheck.runner import CheckOptions, run_check

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")


@pytest.fixture(scope="module")
def report() -> Report:
    policies = load_policies()
    options = CheckOptions(policies=policies, mappings=load_mappings(policies), use_cache=False)
    return run_check([CORPUS / "cisco_ios", CORPUS / "cisco_nxos"], options)


def test_every_corpus_file_is_assessed_or_explained(report: Report) -> None:
    errors = {d.source.rsplit("/", 1)[-1]: d.error for d in report.devices if d.status == "error"}
    # The only file that is not IOS or NX-OS is an SD-WAN (viptela-style) cEdge config.
    assert list(errors) == ["mpenning__ciscoconfparse2__tests_fixtures_configs_sample_10.ios"]
    assert "cisco_iosxe_sdwan" in next(iter(errors.values()))


def test_failures_always_cite_lines(report: Report) -> None:
    for result in report.results:
        if result.status == "fail":
            assert result.evidence, (result.device, result.policy)


def test_nxos_is_not_judged_by_ios_defaults(report: Report) -> None:
    nxos = {d.name for d in report.devices if d.platform == "cisco_nxos"}
    assert len(nxos) == 4
    for result in report.results:
        if result.device in nxos and result.policy == "ssh-v2-only":
            assert result.status == "pass", result.message


def test_known_findings_in_published_configs(report: Report) -> None:
    by_key = {(r.device, r.policy): r for r in report.results}
    # lhr-border-02 (Batfish hybrid-cloud example) lets vty 0 2 in over Telnet.
    telnet = by_key[("lhr-border-02", "telnet-disabled")]
    assert telnet.status == "fail" and "line vty 0 2" in telnet.message
    # exitgw keeps the lab account 'username cisco password 0 cisco'.
    creds = by_key[("exitgw", "no-default-credentials")]
    assert creds.status == "fail" and "'cisco'" in creds.message


def test_published_redacted_hashes_are_inconclusive_not_pass(report: Report) -> None:
    # Oxidized masks secrets ('$9$xxxSECRET...'): they cannot be checked, so no pass.
    result = next(
        r
        for r in report.results
        if r.device == "LAB-SW123_9200L" and r.policy == "no-default-credentials"
    )
    assert result.status == "inconclusive"


def test_batfish_example_filter_lines_670_and_790_are_unreachable(report: Report) -> None:
    # Batfish's example-filters notebook finds exactly these two unreachable lines of acl_in:
    # 670 (blocked by 540 deny 166.144.0.0/12) and 790 (blocked by 500 deny 54.0.0.0/8).
    result = next(
        r
        for r in report.results
        if r.device == "rtr-with-acl" and r.policy == "acl-no-shadowed-lines"
    )
    assert result.status == "fail"
    assert "(670 permit ip 166.146.58.184 any) can never match" in result.message
    assert "(790 deny ip 54.203.159.1/32 any) can never match" in result.message
    assert result.message.count(") can never match") == 2


@pytest.fixture(scope="module")
def gateway_report() -> Report:
    policies = load_policies()
    options = CheckOptions(policies=policies, mappings=load_mappings(policies), use_cache=False)
    return run_check([CORPUS / "sshd_config", CORPUS / "mosquitto"], options)


def _verdicts(report: Report, file_part: str) -> dict[str, str]:
    devices = {d.name for d in report.devices if file_part in d.source}
    assert devices, file_part
    return {r.policy: r.status for r in report.results if r.device in devices}


def test_each_gateway_file_is_judged_only_on_what_it_establishes(gateway_report: Report) -> None:
    assert all(d.status == "ok" for d in gateway_report.devices)
    for device in gateway_report.devices:
        policies = {r.policy for r in gateway_report.results if r.device == device.name}
        assert policies in (
            {"ssh-no-root-password-login", "ssh-strong-crypto"},
            {"mqtt-no-anonymous", "mqtt-tls-only", "tls-min-1-2"},
        ), device.source


def test_known_findings_in_published_gateway_files(gateway_report: Report) -> None:
    # Azure App Service: PermitRootLogin yes (passwords on by default), CBC ciphers, SHA-1 MACs.
    azure = _verdicts(gateway_report, "Azure-App-Service__python__sshd_config")
    assert azure == {"ssh-no-root-password-login": "fail", "ssh-strong-crypto": "fail"}
    # atmoz/sftp: PermitRootLogin no.
    assert _verdicts(gateway_report, "atmoz")["ssh-no-root-password-login"] == "pass"
    # OpenSSH's own sample file sets nothing: the defaults need the release, unknown here.
    assert set(_verdicts(gateway_report, "openssh-portable").values()) == {"inconclusive"}
    # hassio: 'MACs -hmac-sha1,...' removes from defaults that are unknown without a release.
    assert _verdicts(gateway_report, "hassio")["ssh-strong-crypto"] == "inconclusive"
    # Eclipse's no-auth Docker example: anonymous, plaintext on every address.
    no_auth = _verdicts(gateway_report, "mosquitto-no-auth")
    assert (no_auth["mqtt-no-anonymous"], no_auth["mqtt-tls-only"]) == ("fail", "fail")
    # Intel's template: TLS 1.2 listener with client certificates required.
    intel = _verdicts(gateway_report, "mosquitto.conf.dist")
    assert set(intel.values()) == {"pass"}


@pytest.fixture(scope="module")
def openwrt_report() -> Report:
    policies = load_policies()
    options = CheckOptions(policies=policies, mappings=load_mappings(policies), use_cache=False)
    return run_check([CORPUS / "openwrt"], options)


# What each lone /etc/config file may be judged on: the policies reading what it establishes.
OPENWRT_PACKAGE_POLICIES = {
    "dropbear": {"ssh-no-root-password-login"},
    "firewall": {"wan-input-restricted"},
    "uhttpd": {"http-mgmt-disabled"},
    "upnpd": {"upnp-disabled"},
    "snmpd": {"snmp-no-default-community"},
    "lldpd": {"discovery-protocols-disabled"},
    "network": set(),  # interfaces only: nothing a policy judges
}


def test_every_openwrt_file_is_recognised_and_judged_on_its_package(
    openwrt_report: Report,
) -> None:
    devices = openwrt_report.devices
    assert len(devices) == len(list((CORPUS / "openwrt").iterdir()))
    assert [d.source for d in devices if d.status == "error"] == []
    assert {d.platform for d in devices} == {"openwrt"}
    for device in devices:
        package = device.source.rsplit("_", 1)[-1].removesuffix(".config")
        judged = {r.policy for r in openwrt_report.results if r.device == device.name}
        assert judged == OPENWRT_PACKAGE_POLICIES[package], device.source
    for result in openwrt_report.results:
        lines = [e.line for e in result.evidence if e.line]
        if result.status == "fail":
            assert lines, (result.device, result.policy)
        source = next(d.source for d in devices if d.name == result.device)
        count = len(Path(source).read_text(encoding="utf-8").splitlines())
        assert all(1 <= line <= count for line in lines), (source, lines)


def test_known_findings_in_published_openwrt_files(openwrt_report: Report) -> None:
    def verdict(file_part: str) -> str:
        (status,) = _verdicts(openwrt_report, file_part).values()
        return status

    # dropbear: EFF OpenWireless and agoodkind turn PasswordAuth and RootPasswordAuth off;
    # OpenWrt's shipped file, SzymczakA and the Dynalink backup (wan and lan) keep them on.
    assert verdict("EFForg__OpenWireless__etc_config_dropbear") == "pass"
    assert verdict("agoodkind__openwrt-backups__full-sys_etc_config_dropbear") == "pass"
    assert verdict("files_dropbear.config") == "fail"
    assert verdict("SzymczakA__OpenWRTcfg__etc_config_dropbear") == "fail"
    assert verdict("unpacked__etc_config_dropbear") == "fail"
    # firewall: EFF's and the Dynalink's wan zones accept input; OpenWrt's and SzymczakA's
    # reject it; agoodkind's has only a defaults section (an access point): no WAN zone.
    assert verdict("EFForg__OpenWireless__etc_config_firewall") == "fail"
    assert verdict("unpacked__etc_config_firewall") == "fail"
    assert verdict("files_firewall.config") == "pass"
    assert verdict("SzymczakA__OpenWRTcfg__etc_config_firewall") == "pass"
    assert verdict("agoodkind__openwrt-backups__full-sys_etc_config_firewall") == "inconclusive"
    # uhttpd: HTTP on 0.0.0.0:80 and [::]:80, but redirect_https '1' with HTTPS listeners.
    assert verdict("etc_config_uhttpd") == "pass"
    # miniupnpd: shipped with enabled 0; SzymczakA has no 'enabled' (1) with UPnP on; the
    # Dynalink has UPnP off but NAT-PMP on.
    assert verdict("upnpd.config") == "pass"
    assert verdict("SzymczakA__OpenWRTcfg__etc_config_upnpd") == "fail"
    assert verdict("unpacked__etc_config_upnpd") == "fail"
    # net-snmp's shipped communities: public (RO) and private (RW).
    assert verdict("etc_config_snmpd") == "fail"
    # lldpd on lan with CDP on.
    assert verdict("etc_config_lldpd") == "fail"
