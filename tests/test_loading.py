"""Loading policies and mappings: every invalid file is one error that names the file (and
the line where the problem is), never a silent skip."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from smmcheck.errors import MappingError, PolicyError, SmmcheckError
from smmcheck.mapping import load_mappings
from smmcheck.policies import load_policies
from smmcheck.resources import data_dir

# A valid user policy, the base for the broken variants below.
POLICY = (Path(__file__).parent / "data" / "vty-timeout-five-minutes.yaml").read_text()
POLICY_ID = "vty-timeout-five-minutes"

FRAMEWORK = """\
framework: {id: acme-ot-baseline, name: ACME OT network baseline, version: "2025.1"}
mapping_basis: Internal baseline, mapped by the plant security team.
controls:
  - id: AOB-1
    title: Remote management is encrypted
    confidence: verified
    policies: [telnet-disabled, ssh-v2-only]
  - id: AOB-2
    title: Idle sessions are closed
    confidence: verified
    policies:
      - session-timeout
      - sesion-timeout
"""


def policy_dir(root: Path, text: str, file_stem: str = POLICY_ID) -> tuple[Path, Path]:
    """A user policy folder holding one policy file; returns (folder, file)."""
    folder = root / "site-policies"
    path = folder / "access" / f"{file_stem}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return folder, path


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line of ``text`` containing ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def load_error(folder: Path) -> SmmcheckError:
    with pytest.raises(SmmcheckError) as caught:
        load_mappings(load_policies([folder]))
    return caught.value


def test_valid_user_policy_loads_beside_the_builtin_ones(tmp_path: Path) -> None:
    folder, path = policy_dir(tmp_path, POLICY)
    policies = load_policies([folder])
    assert POLICY_ID in policies.policies
    assert policies.origins[POLICY_ID] == path
    assert "telnet-disabled" in policies.policies
    load_mappings(policies)


def test_duplicate_policy_id_across_builtin_and_user_folder(tmp_path: Path) -> None:
    builtin = data_dir("policies") / "access" / "telnet-disabled.yaml"
    copy = tmp_path / "site-policies" / "access" / "telnet-disabled.yaml"
    copy.parent.mkdir(parents=True)
    shutil.copy(builtin, copy)
    with pytest.raises(PolicyError) as caught:
        load_policies([tmp_path / "site-policies"])
    line = caught.value.line()
    assert str(copy) in line
    assert "'telnet-disabled'" in line
    assert "twice" in line
    assert str(builtin) in line  # where the first definition is


def test_policy_id_must_match_its_file_name(tmp_path: Path) -> None:
    folder, path = policy_dir(tmp_path, POLICY, file_stem="vty-timeout")
    with pytest.raises(PolicyError) as caught:
        load_policies([folder])
    line = caught.value.line()
    assert line.startswith(str(path))
    assert POLICY_ID in line
    assert "'vty-timeout'" in line


def test_unknown_data_list(tmp_path: Path) -> None:
    text = POLICY.replace(
        "where: {kind: {equals: vty}}",
        "where: {kind: {equals: vty}, access_class_in: {not_in_list: jump-host-acls}}",
    )
    folder, path = policy_dir(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policies([folder])
    line = caught.value.line()
    assert line.startswith(str(path))
    assert "unknown data list 'jump-host-acls'" in line
    assert "default-passwords" in line  # the lists that do exist


def test_mapping_naming_unknown_policy_is_a_mapping_error(tmp_path: Path) -> None:
    mapping = tmp_path / "site-mappings" / "acme-ot-baseline.yaml"
    mapping.parent.mkdir()
    mapping.write_text(FRAMEWORK)
    with pytest.raises(MappingError) as caught:
        load_mappings(load_policies(), [mapping.parent])
    line = caught.value.line()
    assert line.startswith(str(mapping))
    assert "'AOB-2'" in line
    assert "unknown policy 'sesion-timeout'" in line


def test_valid_user_mapping_adds_a_framework(tmp_path: Path) -> None:
    mapping = tmp_path / "site-mappings" / "acme-ot-baseline.yaml"
    mapping.parent.mkdir()
    mapping.write_text(FRAMEWORK.replace("      - sesion-timeout\n", ""))
    mappings = load_mappings(load_policies(), [mapping.parent])
    assert mappings.controls_for("telnet-disabled")["acme-ot-baseline"] == ["AOB-1"]


def test_policy_with_unknown_smm_practice_is_a_mapping_error(tmp_path: Path) -> None:
    folder, path = policy_dir(tmp_path, POLICY.replace("SMM.ENB.IAM.AC", "SMM.ENB.IAM.XX"))
    policies = load_policies([folder])  # the policy file itself is well formed
    with pytest.raises(MappingError) as caught:
        load_mappings(policies)
    line = caught.value.line()
    assert line.startswith(str(path))
    assert "'SMM.ENB.IAM.XX'" in line


def test_all_check_without_expect(tmp_path: Path) -> None:
    text = POLICY.replace("    expect: {exec_timeout_seconds: {le: 300}}\n", "")
    folder, path = policy_dir(tmp_path, text)
    error = load_error(folder)
    assert isinstance(error, PolicyError)
    line = error.line()
    assert "expect" in line
    match = re.match(re.escape(str(path)) + r":(\d+): ", line)
    assert match, line
    # The line of `check:` or of the `all:` block under it.
    assert int(match.group(1)) in (line_of(text, "check:"), line_of(text, "all:"))


def test_message_template_with_unknown_placeholder(tmp_path: Path) -> None:
    text = POLICY.replace("{device}: {count} of", "{hostname}: {count} of")
    folder, path = policy_dir(tmp_path, text)
    error = load_error(folder)
    assert isinstance(error, PolicyError)
    line = error.line()
    assert line.startswith(str(path))
    assert "{hostname}" in line
    assert "'fail'" in line


def test_item_template_naming_the_secret_is_forbidden(tmp_path: Path) -> None:
    # credentials items carry the stored secret; it must never reach a message.
    text = (
        POLICY.replace("items: management_lines", "items: credentials")
        .replace("where: {kind: {equals: vty}}", "where: {kind: {equals: user}}")
        .replace("expect: {exec_timeout_seconds: {le: 300}}", "expect: {form: {equals: secret}}")
        .replace('item: "{label} ({exec_timeout_seconds} s)"', 'item: "{label} = {secret}"')
    )
    folder, path = policy_dir(tmp_path, text)
    error = load_error(folder)
    assert isinstance(error, PolicyError)
    line = error.line()
    assert line.startswith(str(path))
    assert "{secret}" in line


def test_item_template_naming_a_snmp_community_name_is_forbidden(tmp_path: Path) -> None:
    text = (
        POLICY.replace("items: management_lines", "items: snmp_communities")
        .replace("where: {kind: {equals: vty}}", "where: {access: {equals: rw}}")
        .replace("expect: {exec_timeout_seconds: {le: 300}}", "expect: {acl: {known: true}}")
        .replace('item: "{label} ({exec_timeout_seconds} s)"', 'item: "{label}: {name}"')
    )
    folder, path = policy_dir(tmp_path, text)
    error = load_error(folder)
    assert isinstance(error, PolicyError)
    assert error.line().startswith(str(path))
    assert "{name}" in error.line()


def test_the_same_template_without_secrets_loads(tmp_path: Path) -> None:
    text = (
        POLICY.replace("items: management_lines", "items: credentials")
        .replace("where: {kind: {equals: vty}}", "where: {kind: {equals: user}}")
        .replace("expect: {exec_timeout_seconds: {le: 300}}", "expect: {form: {equals: secret}}")
        .replace('item: "{label} ({exec_timeout_seconds} s)"', 'item: "{label} ({form})"')
    )
    folder, _ = policy_dir(tmp_path, text)
    assert POLICY_ID in load_policies([folder]).policies


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("severity: low", "severity: urgent", "severity:"),
        ("level: 2}", "level: 4}", "smm:"),
        ("    if_empty: inconclusive\n", "    if_empty: maybe\n", "if_empty:"),
        ("platforms: [cisco_ios]", "platforms: [cisco_ios, junos]", "platforms:"),
        ("id: vty-timeout-five-minutes", "id: Vty_Timeout", "id:"),
    ],
    ids=["severity", "smm-level-4", "if-empty", "platform", "id-not-kebab"],
)
def test_schema_errors_name_file_line_and_field(
    old: str, new: str, fragment: str, tmp_path: Path
) -> None:
    text = POLICY.replace(old, new)
    assert text != POLICY
    folder, path = policy_dir(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policies([folder])
    line = caught.value.line()
    assert line.startswith(f"{path}:{line_of(text, fragment)}: invalid field '"), line


def test_unknown_top_level_field_names_file_line_and_field(tmp_path: Path) -> None:
    text = POLICY + "owner: ot-network-team\n"
    folder, path = policy_dir(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policies([folder])
    line = caught.value.line()
    assert line.startswith(f"{path}:{line_of(text, 'owner:')}: ")
    assert "'owner'" in line
    assert "unknown field" in line


# The design: "An invalid policy, mapping or test case is a hard error naming file, line and
# field." The checks made after schema validation name the file only.
@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("exec_timeout_seconds: {le", "idle_timeout: {le", "idle_timeout"),
        ("{device}: {count} of", "{hostname}: {count} of", "{hostname}"),
        ("{kind: {equals: vty}}", "{kind: {in_list: vty-kinds}}", "vty-kinds"),
        ("SMM.ENB.IAM.AC", "SMM.ENB.IAM.XX", "SMM.ENB.IAM.XX"),
    ],
    ids=["unknown-fact-field", "unknown-placeholder", "unknown-data-list", "unknown-practice"],
)
def test_semantic_policy_errors_name_the_line(
    old: str, new: str, fragment: str, tmp_path: Path
) -> None:
    text = POLICY.replace(old, new)
    folder, path = policy_dir(tmp_path, text)
    error = load_error(folder)
    assert error.line().startswith(f"{path}:{line_of(text, fragment)}: "), error.line()


def test_mapping_naming_unknown_policy_names_the_line(tmp_path: Path) -> None:
    mapping = tmp_path / "site-mappings" / "acme-ot-baseline.yaml"
    mapping.parent.mkdir()
    mapping.write_text(FRAMEWORK)
    with pytest.raises(MappingError) as caught:
        load_mappings(load_policies(), [mapping.parent])
    expected = f"{mapping}:{line_of(FRAMEWORK, 'sesion-timeout')}: "
    assert caught.value.line().startswith(expected), caught.value.line()
