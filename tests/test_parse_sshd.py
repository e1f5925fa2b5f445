"""OpenSSH server facts: `sshd -T` output is authoritative, sshd_config is read with sshd's
rules (first value wins, Match blocks, Include) over the defaults of the release."""

from __future__ import annotations

import subprocess

import pytest

from smmcheck.facts import SshServer
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.sshd import DEFAULTS, sshd_facts

DEBIAN_12 = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
CIPHERS_92, MACS_92, KEX_92 = DEFAULTS[(9, 2)]


def _effective(text: str) -> Artifact:
    return Artifact(name="sshd-effective", source="gw-01/sshd-effective.txt", text=text)


def _config(*lines: str) -> Artifact:
    return Artifact(name="sshd-config", source="gw-01/sshd_config", text="\n".join(lines) + "\n")


def _from_config(*lines: str, version: str | None = "OpenSSH_9.2p1") -> SshServer:
    facts = sshd_facts(None, _config(*lines), version)
    assert facts is not None
    return facts


def _lines(facts: SshServer) -> list[int]:
    return [e.line for e in facts.evidence]


# --- a real `sshd -T` ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_sshd_t(tmp_path_factory: pytest.TempPathFactory, sshd_binary: str) -> str:
    """`sshd -T` of this machine's OpenSSH with a config that sets the fields under test."""
    binary = sshd_binary
    folder = tmp_path_factory.mktemp("sshd-t")
    key = folder / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = folder / "sshd_config"
    config.write_text(
        f"HostKey {key}\n"
        "PermitRootLogin yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "Ciphers aes256-gcm@openssh.com,aes128-ctr\n"
        "MACs -*sha1*,umac-64*\n"
    )
    done = subprocess.run(
        [binary, "-T", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _printed(text: str, key: str) -> tuple[int, str]:
    """(line number, value) of the line of `sshd -T` output starting with ``key``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key} "):
            return number, line.split(" ", 1)[1]
    raise AssertionError(f"sshd -T printed no {key} line")


def test_real_sshd_t_output_gives_the_printed_settings(real_sshd_t: str) -> None:
    facts = sshd_facts(_effective(real_sshd_t), None, DEBIAN_12)
    assert facts is not None
    assert facts.label == "sshd (sshd -T)"
    for key, field in (("ciphers", "ciphers"), ("macs", "macs"), ("kexalgorithms", "kex")):
        line, value = _printed(real_sshd_t, key)
        assert getattr(facts, field) == tuple(value.split(","))
        assert line in _lines(facts)
    assert facts.ciphers == ("aes256-gcm@openssh.com", "aes128-ctr")
    assert facts.macs is not None
    assert not any("sha1" in m or m.startswith("umac-64") for m in facts.macs)
    assert facts.permit_root_login == _printed(real_sshd_t, "permitrootlogin")[1] == "yes"
    assert facts.password_authentication is False
    assert facts.root_password_login is False  # no password, no keyboard-interactive
    assert facts.accepted_versions == (2,)
    assert facts.software == "OpenSSH_9.2p1"


def test_real_sshd_t_without_password_is_prohibit_password(real_sshd_t: str) -> None:
    # OpenSSH prints the old name for prohibit-password (the first name in its table).
    text = real_sshd_t.replace("permitrootlogin yes", "permitrootlogin without-password")
    facts = sshd_facts(_effective(text), None, DEBIAN_12)
    assert facts is not None
    assert facts.permit_root_login == "prohibit-password"
    assert "without-password" in facts.notes["permit_root_login"]


# --- hand-written `sshd -T` output -----------------------------------------------------------

SSHD_T = """port 22
addressfamily any
permitrootlogin {root}
pubkeyauthentication yes
passwordauthentication {password}
kbdinteractiveauthentication {kbd}
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr
macs hmac-sha2-256-etm@openssh.com,hmac-sha1
kexalgorithms curve25519-sha256,diffie-hellman-group14-sha1
"""


@pytest.mark.parametrize(
    ("root", "password", "kbd", "expected"),
    [
        ("yes", "yes", "no", True),
        ("yes", "no", "yes", True),
        ("yes", "no", "no", False),
        ("prohibit-password", "yes", "yes", False),
        ("no", "yes", "yes", False),
    ],
)
def test_root_password_login_needs_permit_root_login_yes_and_a_password_method(
    root: str, password: str, kbd: str, expected: bool
) -> None:
    text = SSHD_T.format(root=root, password=password, kbd=kbd)
    facts = sshd_facts(_effective(text), None, None)
    assert facts is not None
    assert facts.root_password_login is expected
    assert facts.password_authentication is (password == "yes")
    assert 3 in _lines(facts) and 5 in _lines(facts)


def test_sshd_t_lines_are_cited_by_number() -> None:
    facts = sshd_facts(_effective(SSHD_T.format(root="yes", password="yes", kbd="no")), None, None)
    assert facts is not None
    assert facts.kex == ("curve25519-sha256", "diffie-hellman-group14-sha1")
    assert facts.macs == ("hmac-sha2-256-etm@openssh.com", "hmac-sha1")
    cited = {e.line: e.text for e in facts.evidence}
    assert cited[7].startswith("ciphers chacha20")
    assert cited[8] == "macs hmac-sha2-256-etm@openssh.com,hmac-sha1"
    assert cited[9].startswith("kexalgorithms ")
    assert cited[6] == "kbdinteractiveauthentication no"  # root may log in: it matters


def test_old_sshd_t_protocol_line_gives_the_accepted_versions() -> None:
    text = "port 22\nprotocol 2,1\npermitrootlogin yes\npasswordauthentication yes\n"
    facts = sshd_facts(_effective(text), None, "OpenSSH_6.6.1p1")
    assert facts is not None
    assert facts.accepted_versions == (1, 2)
    assert 2 in _lines(facts)
    assert facts.ciphers is None
    assert "no 'ciphers' line" in facts.notes["ciphers"]


def test_an_error_instead_of_sshd_t_output_is_no_facts() -> None:
    error = _effective("sshd: no hostkeys available -- exiting.\n")
    assert sshd_facts(error, None, DEBIAN_12) is None
    assert sshd_facts(None, None, DEBIAN_12) is None


def test_an_error_instead_of_sshd_t_output_falls_back_to_the_config() -> None:
    error = _effective("Permission denied\n")
    facts = sshd_facts(error, _config("PermitRootLogin no"), DEBIAN_12)
    assert facts is not None
    assert facts.label == "sshd (/etc/ssh/sshd_config)"
    assert facts.permit_root_login == "no"


def test_match_blocks_of_the_config_are_noted_next_to_sshd_t() -> None:
    text = SSHD_T.format(root="no", password="no", kbd="no")
    config = _config("PermitRootLogin no", "Match Address 10.1.2.0/24", "  PermitRootLogin yes")
    facts = sshd_facts(_effective(text), config, DEBIAN_12)
    assert facts is not None
    assert facts.permit_root_login == "no"
    assert "line 2" in facts.notes["permit_root_login"]
    assert {(e.source, e.line) for e in facts.evidence} >= {
        ("gw-01/sshd_config", 2),
        ("gw-01/sshd_config", 3),
    }


# --- sshd_config ---------------------------------------------------------------------------


def test_first_value_wins() -> None:
    facts = _from_config(
        "# hardening first",
        "PermitRootLogin no",
        "passwordauthentication no",
        "PermitRootLogin yes",
        "PasswordAuthentication yes",
    )
    assert facts.permit_root_login == "no"
    assert facts.password_authentication is False
    assert facts.root_password_login is False
    assert 2 in _lines(facts) and 3 in _lines(facts)
    assert 4 not in _lines(facts) and 5 not in _lines(facts)


def test_keywords_are_case_insensitive_and_take_an_equals_sign() -> None:
    facts = _from_config("PERMITROOTLOGIN=yes", "PasswordAuthentication = yes")
    assert facts.permit_root_login == "yes"
    assert facts.root_password_login is True


@pytest.mark.parametrize(
    ("line", "version", "expected"),
    [
        # Before 8.7, ChallengeResponseAuthentication (default yes) enabled it on its own.
        ("KbdInteractiveAuthentication no", "OpenSSH_8.4p1", True),
        ("KbdInteractiveAuthentication no", "OpenSSH_9.2p1", False),
        ("KbdInteractiveAuthentication no", None, None),
        ("ChallengeResponseAuthentication no", "OpenSSH_8.4p1", False),  # Debian 11
        ("ChallengeResponseAuthentication no", "OpenSSH_9.2p1", False),  # an alias now
        ("ChallengeResponseAuthentication no", None, False),
        ("UsePAM yes", "OpenSSH_9.2p1", True),
    ],
)
def test_keyboard_interactive_lets_root_log_in_with_a_password(
    line: str, version: str | None, expected: bool | None
) -> None:
    facts = _from_config("PermitRootLogin yes", "PasswordAuthentication no", line, version=version)
    assert facts.root_password_login is expected
    if expected is None:
        assert "by release" in facts.notes["root_password_login"]
    elif line.startswith(("Kbd", "Challenge")):
        assert 3 in _lines(facts)


def test_without_password_is_read_as_prohibit_password() -> None:
    facts = _from_config("PermitRootLogin without-password")
    assert facts.permit_root_login == "prohibit-password"
    assert "without-password" in facts.notes["permit_root_login"]
    assert facts.root_password_login is False


def test_weaker_match_block_is_noted_and_the_global_value_kept() -> None:
    facts = _from_config(
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "",
        "Match Address 192.168.10.0/24",
        "    PermitRootLogin yes",
        "    PasswordAuthentication yes",
        "Match User backup",
        "    PermitRootLogin no",
    )
    assert facts.permit_root_login == "prohibit-password"
    assert facts.password_authentication is False
    assert facts.root_password_login is False
    assert "line 4" in facts.notes["permit_root_login"]
    assert "PermitRootLogin yes (line 5)" in facts.notes["permit_root_login"]
    assert "PasswordAuthentication yes (line 6)" in facts.notes["password_authentication"]
    assert "line 4" in facts.notes["root_password_login"]
    # Lines 0 are the algorithm defaults; the stricter 'Match User' block is not cited.
    assert [n for n in _lines(facts) if n] == [1, 2, 4, 5, 6]


def test_match_all_overrides_the_global_section() -> None:
    facts = _from_config("PermitRootLogin no", "Match all", "PermitRootLogin yes")
    assert facts.permit_root_login == "yes"
    assert "Match all" in facts.notes["permit_root_login"]
    assert {2, 3} <= set(_lines(facts))


def test_algorithm_lists_in_a_match_block_are_an_error() -> None:
    facts = _from_config("Match User legacy", "Ciphers aes128-cbc")
    assert "Match block (line 2)" in facts.notes["ciphers"]
    assert facts.ciphers == CIPHERS_92


def test_absent_lines_take_the_release_defaults() -> None:
    facts = _from_config("UsePAM yes")
    assert facts.ciphers == CIPHERS_92
    assert facts.macs == MACS_92
    assert facts.kex == KEX_92
    assert facts.permit_root_login == "prohibit-password"
    assert facts.password_authentication is True
    assert facts.root_password_login is False
    assert facts.accepted_versions == (2,)
    assert all(e.line == 0 for e in facts.evidence)
    assert any("OpenSSH 9.2 default" in e.text for e in facts.evidence)
    assert "OpenSSH 9.2 default" in facts.notes["kex"]


@pytest.mark.parametrize(
    ("version", "group14_sha1"),
    [("OpenSSH_7.4p1", True), ("OpenSSH_8.0p1", True), ("OpenSSH_8.2p1", False)],
)
def test_the_nearest_release_at_or_below_gives_the_defaults(
    version: str, group14_sha1: bool
) -> None:
    facts = _from_config("UsePAM yes", version=version)
    assert facts.kex is not None
    assert ("diffie-hellman-group14-sha1" in facts.kex) is group14_sha1


def test_openssh_10_prefers_ml_kem_and_drops_finite_field_dh() -> None:
    facts = _from_config("UsePAM yes", version="SSH-2.0-OpenSSH_10.2")
    assert facts.kex is not None
    assert facts.kex[0] == "mlkem768x25519-sha256"
    assert not any(k.startswith("diffie-hellman") for k in facts.kex)
    assert facts.ciphers is not None
    assert facts.ciphers[1] == "aes128-gcm@openssh.com"


def test_plus_appends_to_the_default() -> None:
    facts = _from_config("Ciphers +aes128-cbc,aes128-ctr")
    assert facts.ciphers == (*CIPHERS_92, "aes128-cbc")
    assert "+aes128-cbc" in facts.notes["ciphers"]
    assert _lines(facts)[-1] == 1


def test_minus_removes_patterns_from_the_default() -> None:
    facts = _from_config("MACs -*sha1*,umac-64*")
    assert facts.macs == tuple(m for m in MACS_92 if "sha1" not in m and "umac-64" not in m)
    assert "hmac-sha2-256" in facts.macs
    assert len(facts.macs) == len(MACS_92) - 4


def test_caret_puts_algorithms_first() -> None:
    facts = _from_config("KexAlgorithms ^diffie-hellman-group14-sha1,curve25519-sha256")
    assert facts.kex is not None
    assert facts.kex[:2] == ("diffie-hellman-group14-sha1", "curve25519-sha256")
    assert len(facts.kex) == len(KEX_92) + 1


def test_explicit_list_needs_no_release() -> None:
    facts = _from_config("Ciphers aes256-ctr,aes128-cbc", version=None)
    assert facts.ciphers == ("aes256-ctr", "aes128-cbc")
    assert facts.software is None


def test_prefix_with_an_unknown_release_is_unknown() -> None:
    facts = _from_config("Ciphers -*cbc", version=None)
    assert facts.ciphers is None
    assert "release is unknown" in facts.notes["ciphers"]
    assert 1 in _lines(facts)


def test_absent_lines_with_an_unknown_release_are_unknown() -> None:
    facts = _from_config("UsePAM yes", version="12")  # os-release VERSION_ID, not OpenSSH
    assert facts.ciphers is None and facts.macs is None and facts.kex is None
    assert facts.permit_root_login is None
    assert facts.root_password_login is None
    assert "'12' is not an OpenSSH version" in facts.notes["kex"]
    assert "PermitRootLogin" in facts.notes["permit_root_login"]
    # Every release defaults PasswordAuthentication to yes: no release needed.
    assert facts.password_authentication is True


def test_release_older_than_the_table_keeps_root_default_but_not_algorithms() -> None:
    seven_two = _from_config("UsePAM yes", version="OpenSSH_7.2p2")
    assert seven_two.ciphers is None
    assert "older than the releases modelled" in seven_two.notes["ciphers"]
    assert seven_two.permit_root_login == "prohibit-password"
    six_six = _from_config("UsePAM yes", version="OpenSSH_6.6.1p1")
    assert six_six.permit_root_login == "yes"  # the default before OpenSSH 7.0
    assert six_six.root_password_login is True


def test_include_makes_later_settings_unknown() -> None:
    facts = _from_config(
        "PermitRootLogin no",
        "Include /etc/ssh/sshd_config.d/*.conf",
        "PasswordAuthentication no",
        "Ciphers aes256-ctr",
    )
    assert facts.permit_root_login == "no"  # set before the Include: first value wins
    assert facts.root_password_login is False
    assert facts.password_authentication is None
    assert facts.ciphers is None and facts.macs is None and facts.kex is None
    assert "Include on line 2" in facts.notes["password_authentication"]
    assert "Include on line 2" in facts.notes["ciphers"]
    assert _lines(facts) == [1, 2]


def test_debian_12_default_config_is_unknown_but_for_what_comes_first() -> None:
    # Debian's shipped file includes the drop-in folder before anything else.
    facts = _from_config(
        "# This is the sshd server system-wide configuration file.  See",
        "# sshd_config(5) for more information.",
        "",
        "Include /etc/ssh/sshd_config.d/*.conf",
        "",
        "#PermitRootLogin prohibit-password",
        "KbdInteractiveAuthentication no",
        "UsePAM yes",
        "X11Forwarding yes",
        "Subsystem\tsftp\t/usr/lib/openssh/sftp-server",
    )
    assert facts.permit_root_login is None
    assert facts.root_password_login is None
    assert facts.kex is None
    assert _lines(facts) == [4]


def test_protocol_line_is_read_for_releases_that_still_honour_it() -> None:
    facts = _from_config("Protocol 2", version=None)
    assert facts.accepted_versions == (2,)
    old = _from_config("Protocol 2,1", version="SSH-1.99-OpenSSH_5.3")
    assert old.accepted_versions == (1, 2)
    unknown = _from_config("Protocol 2,1", version=None)
    assert unknown.accepted_versions is None
    assert "SSH-1" in unknown.notes["accepted_versions"]
