"""Inventories: inheritance, secrets by reference only, selection, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.errors import UsageError
from smmcheck.inventory import SecretRef, load_inventory

INVENTORY = """\
defaults:
  username: {env: SMM_USER}
  password: {env: SMM_PASSWORD}
groups:
  plant-a-switches:
    platform: cisco_ios
    category: switch
    site: plant-a
    enable: {env: SMM_ENABLE}
  gateways:
    platform: linux
    category: gateway
    key_file: ~/.ssh/id_ed25519
devices:
  - {name: sw-access-01, host: 10.0.0.11, groups: [plant-a-switches]}
  - {name: sw-access-02, host: 10.0.0.12, groups: [plant-a-switches], tags: [pilot]}
  - {name: gw-01, host: 10.0.0.50, port: 2222, groups: [gateways], site: plant-b}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def test_settings_resolve_device_then_groups_then_defaults(tmp_path: Path) -> None:
    devices = {d.name: d for d in load_inventory(_write(tmp_path, INVENTORY))}
    switch = devices["sw-access-01"]
    assert (switch.platform, switch.category, switch.site, switch.port) == (
        "cisco_ios",
        "switch",
        "plant-a",
        22,
    )
    assert switch.password == SecretRef(env="SMM_PASSWORD")
    assert switch.enable == SecretRef(env="SMM_ENABLE")
    gateway = devices["gw-01"]
    assert (gateway.platform, gateway.port, gateway.site) == ("linux", 2222, "plant-b")
    assert gateway.key_file == "~/.ssh/id_ed25519"


@pytest.mark.parametrize(
    ("limit", "names"),
    [
        ("sw-*", ["sw-access-01", "sw-access-02"]),
        ("site:plant-b", ["gw-01"]),
        ("category:switch", ["sw-access-01", "sw-access-02"]),
        ("tag:pilot", ["sw-access-02"]),
    ],
)
def test_limit_selects_by_name_site_category_or_tag(
    tmp_path: Path, limit: str, names: list[str]
) -> None:
    assert [d.name for d in load_inventory(_write(tmp_path, INVENTORY), limit)] == names


def test_literal_password_is_refused(tmp_path: Path) -> None:
    text = INVENTORY.replace("password: {env: SMM_PASSWORD}", "password: cisco123")
    with pytest.raises(UsageError) as caught:
        load_inventory(_write(tmp_path, text))
    assert "inventory.yaml:3" in caught.value.line()
    assert "secrets are never stored in the inventory" in caught.value.line()
    assert "cisco123" not in caught.value.line()


def test_secret_references_resolve_from_environment_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMM_TEST_SECRET", "from-env")
    assert SecretRef(env="SMM_TEST_SECRET").resolve() == "from-env"
    secret_file = tmp_path / "enable.txt"
    secret_file.write_text("from-file\n")
    assert SecretRef(file=str(secret_file)).resolve() == "from-file"
    monkeypatch.delenv("SMM_TEST_SECRET")
    with pytest.raises(UsageError, match="environment variable SMM_TEST_SECRET is not set"):
        SecretRef(env="SMM_TEST_SECRET").resolve()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("groups: [gateways]", "groups: [gateway]"), "names unknown group 'gateway'"),
        (("host: 10.0.0.12, ", ""), "device 'sw-access-02' has no host"),
        (("name: gw-01", "name: sw-access-01"), "device 'sw-access-01' is listed twice"),
        (("port: 2222", "port: 70000"), "invalid field 'devices.2.port'"),
        (("platform: linux", "platform: vxworks"), "invalid field 'groups.gateways.platform'"),
    ],
)
def test_inventory_errors_name_file_line_and_reason(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        load_inventory(_write(tmp_path, INVENTORY.replace(*change)))
    assert message in caught.value.line()
    assert "inventory.yaml:" in caught.value.line()


def test_limit_matching_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="selects no device"):
        load_inventory(_write(tmp_path, INVENTORY), "core-*")
