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


# --- import: Nornir and Ansible inventories ------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path: text) under tmp_path; return the smmcheck inventory."""
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path / "inventory.yaml"


NORNIR_HOSTS = """\
sw-01:
  hostname: 10.0.0.11
  groups: [plant-a]
  data: {role: access-switch}
core-01:
  hostname: 10.0.0.1
  platform: nxos_ssh
  groups: [plant-a]
  data: {category: core, tags: [pilot]}
rtu-01:
  groups: [field]
  data: {role: rtu}
"""
NORNIR_GROUPS = """\
plant-a:
  groups: [cisco]
  data: {site: plant-a, category: switch}
cisco:
  platform: iosxe
  port: 2222
field:
  platform: linux
  data: {site: field}
"""
NORNIR_DEFAULTS = """\
username: netops
port: 22
data: {site: hq}
"""
SMM_DEFAULTS = """\
defaults:
  username: {env: SMM_USER}
  password: {env: SMM_PASSWORD}
  enable: {env: SMM_ENABLE}
"""


def test_nornir_import_maps_platforms_and_inherits_groups_then_smmcheck_defaults(
    tmp_path: Path,
) -> None:
    inventory = _tree(
        tmp_path,
        {
            "inventory.yaml": SMM_DEFAULTS + "import:\n  - {nornir: nornir/hosts.yaml}\n",
            "nornir/hosts.yaml": NORNIR_HOSTS,
            "nornir/groups.yaml": NORNIR_GROUPS,
            "nornir/defaults.yaml": NORNIR_DEFAULTS,
        },
    )
    devices = {d.name: d for d in load_inventory(inventory)}
    assert list(devices) == ["sw-01", "core-01", "rtu-01"]
    switch, core, rtu = devices["sw-01"], devices["core-01"], devices["rtu-01"]
    # Host, then plant-a, then its parent group cisco, then Nornir defaults.
    assert (switch.host, switch.platform, switch.port, switch.site) == (
        "10.0.0.11",
        "cisco_ios",
        2222,
        "plant-a",
    )
    # category resolves as Nornir would (host, groups, defaults) before role is used.
    assert (switch.category, rtu.category) == ("switch", "rtu")
    assert (core.platform, core.category, core.tags) == ("cisco_nxos", "core", ["pilot"])
    assert (rtu.host, rtu.platform, rtu.port, rtu.site) == ("rtu-01", "linux", 22, "field")
    # username from Nornir (a plain string); secrets only from the smmcheck defaults.
    assert switch.username == "netops"
    assert switch.password == SecretRef(env="SMM_PASSWORD")
    assert rtu.enable == SecretRef(env="SMM_ENABLE")


def test_nornir_group_and_defaults_files_can_be_named(tmp_path: Path) -> None:
    inventory = _tree(
        tmp_path,
        {
            "inventory.yaml": SMM_DEFAULTS
            + "import:\n  - {nornir: n/h.yaml, group_file: n/g.yaml, defaults_file: n/d.yaml}\n",
            "n/h.yaml": "rtu-01: {groups: [field]}\n",
            "n/g.yaml": "field: {platform: openwrt}\n",
            "n/d.yaml": "port: 2200\n",
            "n/groups.yaml": "field: {platform: linux}\n",  # not read: group_file wins
        },
    )
    [rtu] = load_inventory(inventory)
    assert (rtu.platform, rtu.port) == ("openwrt", 2200)


ANSIBLE_HOSTS = """\
all:
  vars:
    smmcheck_site: hq
    ansible_user: netops
  children:
    plant_a:
      vars:
        smmcheck_site: plant-a
        ansible_network_os: cisco.ios.ios
      children:
        plcs:
          vars:
            smmcheck_category: plc
            ansible_port: 2222
          hosts:
            plc-01: {ansible_host: 10.1.0.10}
            plc-02:
              ansible_host: 10.1.0.11
              ansible_port: 2022
        switches:
          vars: {smmcheck_category: switch, ansible_network_os: nxos}
          hosts:
            sw-01: {ansible_host: 10.1.0.2, smmcheck_tags: [core]}
            plc-01:
    office:
      hosts:
        ws-01:
          ansible_host: 10.2.0.5
          ansible_ssh_private_key_file: ~/.ssh/office
    historians:
      hosts:
        hist-01: {ansible_host: 10.3.0.9}
"""
ANSIBLE_INVENTORY = (
    SMM_DEFAULTS
    + """\
groups:
  linux-boxes: {platform: linux, category: server}
import:
  - {ansible: ansible/hosts.yml, groups: [linux-boxes]}
"""
)


def _ansible(tmp_path: Path, hosts: str = ANSIBLE_HOSTS) -> Path:
    return _tree(tmp_path, {"inventory.yaml": ANSIBLE_INVENTORY, "ansible/hosts.yml": hosts})


def test_ansible_import_resolves_nested_children_and_tags_hosts_with_groups(
    tmp_path: Path,
) -> None:
    devices = {d.name: d for d in load_inventory(_ansible(tmp_path))}
    assert list(devices) == ["plc-01", "plc-02", "sw-01", "ws-01", "hist-01"]
    plc1, plc2, switch, ws = (devices[n] for n in ("plc-01", "plc-02", "sw-01", "ws-01"))
    # Child group vars override the parent's and all's; host vars override groups.
    assert (plc2.host, plc2.port, plc2.platform, plc2.category, plc2.site) == (
        "10.1.0.11",
        2022,
        "cisco_ios",
        "plc",
        "plant-a",
    )
    # plc-01 is in plcs and switches (same depth): one device, the later name (switches) wins.
    assert (plc1.port, plc1.platform, plc1.category) == (2222, "cisco_nxos", "switch")
    assert plc1.tags == ["plant_a", "plcs", "switches"]
    assert switch.tags == ["core", "plant_a", "switches"]
    assert plc1.username == "netops"
    assert plc1.password == SecretRef(env="SMM_PASSWORD")
    # No platform in Ansible: the smmcheck group named by the import supplies it.
    assert (ws.platform, ws.category, ws.site, ws.key_file) == (
        "linux",
        "server",
        "hq",
        "~/.ssh/office",
    )
    assert ws.tags == ["office"]


@pytest.mark.parametrize(
    ("limit", "names"),
    [
        ("tag:plcs", ["plc-01", "plc-02"]),
        ("tag:plant_a", ["plc-01", "plc-02", "sw-01"]),
        ("site:hq", ["ws-01", "hist-01"]),
        ("category:switch", ["plc-01", "sw-01"]),
        ("hist-*", ["hist-01"]),
    ],
)
def test_limit_selects_imported_devices(tmp_path: Path, limit: str, names: list[str]) -> None:
    assert [d.name for d in load_inventory(_ansible(tmp_path), limit)] == names


def test_ansible_top_level_groups_without_all(tmp_path: Path) -> None:
    hosts = "plcs:\n  vars: {smmcheck_platform: linux}\n  hosts:\n    plc-09:\n"
    [plc] = load_inventory(_ansible(tmp_path, hosts))
    assert (plc.name, plc.host, plc.platform, plc.tags) == ("plc-09", "plc-09", "linux", ["plcs"])


def test_ansible_env_lookup_becomes_a_secret_reference(tmp_path: Path) -> None:
    hosts = """\
all:
  vars:
    smmcheck_platform: linux
    ansible_password: "{{ lookup('env', 'PLANT_PASSWORD') }}"
  hosts:
    gw-01:
      ansible_become_password: '{{lookup("env","PLANT_ENABLE")}}'
    gw-02:
      ansible_ssh_pass: "{{  lookup( 'env' , 'GW2_PASSWORD' )  }}"
"""
    devices = {d.name: d for d in load_inventory(_ansible(tmp_path, hosts))}
    assert devices["gw-01"].password == SecretRef(env="PLANT_PASSWORD")
    assert devices["gw-01"].enable == SecretRef(env="PLANT_ENABLE")
    assert devices["gw-02"].password == SecretRef(env="GW2_PASSWORD")
    assert devices["gw-02"].enable == SecretRef(env="SMM_ENABLE")  # smmcheck defaults


@pytest.mark.parametrize(
    ("files", "where", "key"),
    [
        (
            {
                "n/hosts.yaml": "sw-01:\n  groups: [g]\n",
                "n/groups.yaml": "g:\n  password: Zx9-sEcReT\n",
            },
            "groups.yaml:2",
            "'password'",
        ),
        (
            {
                "n/hosts.yaml": """\
sw-01:
  platform: ios
  connection_options:
    netmiko:
      extras:
        secret: Zx9-sEcReT
"""
            },
            "hosts.yaml:6",
            "'extras.secret'",
        ),
        (
            {"a/hosts.yml": "all:\n  hosts:\n    sw-01:\n      ansible_password: Zx9-sEcReT\n"},
            "hosts.yml:4",
            "'ansible_password'",
        ),
        (
            {"a/hosts.yml": "all:\n  vars:\n    ansible_become_pass: Zx9-sEcReT\n"},
            "hosts.yml:3",
            "'ansible_become_pass'",
        ),
        (
            {"a/hosts.yml": "all:\n  vars:\n    ansible_ssh_pass: '{{ vault_pw }}'\n"},
            "hosts.yml:3",
            "'ansible_ssh_pass'",
        ),
    ],
)
def test_literal_secret_in_imported_file_is_refused_without_echoing_it(
    tmp_path: Path, files: dict[str, str], where: str, key: str
) -> None:
    source = "{nornir: n/hosts.yaml}" if "n/hosts.yaml" in files else "{ansible: a/hosts.yml}"
    inventory = _tree(tmp_path, {"inventory.yaml": f"import:\n  - {source}\n", **files})
    with pytest.raises(UsageError) as caught:
        load_inventory(inventory)
    line = caught.value.line()
    assert where in line
    assert key in line
    assert "never takes secret values from a file" in line
    assert "reference the secret in the smmcheck inventory" in line
    assert "sEcReT" not in line
    assert "vault_pw" not in line


def test_ansible_vault_value_is_a_clear_error(tmp_path: Path) -> None:
    hosts = """\
all:
  hosts:
    sw-01:
      ansible_network_os: ios
      ansible_password: !vault |
          $ANSIBLE_VAULT;1.1;AES256
          62313365396662343061393464336163383764373764613633653634306231386433626436623361
"""
    with pytest.raises(UsageError) as caught:
        load_inventory(_ansible(tmp_path, hosts))
    line = caught.value.line()
    assert "hosts.yml:5: 'ansible_password' is a !vault value" in line
    assert "ansible-vault values are not read" in line
    assert "62313365" not in line


def test_vault_encrypted_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="encrypted with ansible-vault"):
        load_inventory(_ansible(tmp_path, "$ANSIBLE_VAULT;1.1;AES256\n6231336539\n"))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"n/hosts.yaml": "sw-01:\n  hostname: 10.0.0.1\n  platform: junos\n"},
            "hosts.yaml:3: unknown Nornir platform 'junos' (hint: supported: ios, cisco_ios,",
        ),
        (
            {"a/hosts.yml": "all:\n  hosts:\n    sw-01:\n      ansible_network_os: junos\n"},
            "hosts.yml:4: unknown ansible_network_os 'junos'",
        ),
        (
            {"n/hosts.yaml": "sw-01:\n  groups: [nope]\n"},
            "hosts.yaml:2: unknown Nornir group 'nope'",
        ),
        (
            {"n/hosts.yaml": "sw-01:\n  hostname: 10.0.0.1\n  site: x\n"},
            "hosts.yaml:3: unknown field 'site' in Nornir host 'sw-01'",
        ),
        (
            {
                "a/hosts.yml": "all:\n  vars: {smmcheck_platform: linux}\n"
                "  hosts:\n    sw-01:\n    sw-02:\n      ansible_port: 99999\n"
            },
            "hosts.yml:6: invalid value for 'ansible_port' of 'sw-02'",
        ),
        (
            {"a/hosts.yml": "all:\n  hosts:\n    sw-01: {ansible_host: 10.0.0.1}\n"},
            "hosts.yml:3: device 'sw-01' has no platform",
        ),
        (
            {"a/hosts.yml": "all:\n  children:\n    web:\n      hosts:\n        web[01:10]:\n"},
            "hosts.yml:5: host range 'web[01:10]' is not supported",
        ),
        (
            {"a/hosts.yml": "all:\n  hosts:\n    sw-01: {ansible_host: '{{ ip }}'}\n"},
            "hosts.yml:3: 'ansible_host' is a Jinja template",
        ),
        (
            {"a/hosts.yml": "all:\n  childs:\n    web:\n"},
            "hosts.yml:2: unknown key 'childs' in Ansible group 'all'",
        ),
    ],
)
def test_import_errors_name_file_and_line(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    source = "{nornir: n/hosts.yaml}" if "n/hosts.yaml" in files else "{ansible: a/hosts.yml}"
    inventory = _tree(tmp_path, {"inventory.yaml": f"import:\n  - {source}\n", **files})
    with pytest.raises(UsageError) as caught:
        load_inventory(inventory)
    assert message in caught.value.line()


def test_device_name_in_import_and_devices_is_an_error(tmp_path: Path) -> None:
    inventory = _tree(
        tmp_path,
        {
            "inventory.yaml": """\
import:
  - {nornir: nornir/hosts.yaml}
devices:
  - {name: gw-01, host: 10.0.0.50, platform: linux}
  - {name: sw-01, host: 10.0.0.11, platform: cisco_ios}
""",
            "nornir/hosts.yaml": "rtu-01: {platform: linux}\nsw-01: {platform: ios}\n",
        },
    )
    with pytest.raises(UsageError) as caught:
        load_inventory(inventory)
    line = caught.value.line()
    assert "hosts.yaml:2: device 'sw-01' is listed twice" in line
    assert "also at " in line
    assert "inventory.yaml:5" in line


def test_device_name_in_two_imports_is_an_error(tmp_path: Path) -> None:
    inventory = _tree(
        tmp_path,
        {
            "inventory.yaml": "import:\n  - {nornir: n/hosts.yaml}\n  - {ansible: a/hosts.yml}\n",
            "n/hosts.yaml": "rtu-01: {platform: linux}\n",
            "a/hosts.yml": "all:\n  vars: {smmcheck_platform: linux}\n  hosts:\n    rtu-01:\n",
        },
    )
    with pytest.raises(UsageError, match=r"hosts.yml:4: device 'rtu-01' is listed twice"):
        load_inventory(inventory)


def test_missing_import_file_is_named(tmp_path: Path) -> None:
    inventory = _tree(
        tmp_path,
        {"inventory.yaml": "defaults: {platform: linux}\nimport:\n  - ansible: inv/prod.yml\n"},
    )
    with pytest.raises(UsageError) as caught:
        load_inventory(inventory)
    line = caught.value.line()
    assert "inventory.yaml:3: import file not found" in line
    assert str(tmp_path / "inv" / "prod.yml") in line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("defaults: {platform: linux}\n", "the inventory has no devices"),
        ("devices: []\n", "inventory.yaml:1: the inventory has no devices"),
        (
            "import:\n  - {nornir: h.yaml, ansible: h.yaml}\n",
            "exactly one of 'nornir' or 'ansible'",
        ),
        ("import:\n  - {ansible: h.yaml, groups: [nope]}\n", "unknown group 'nope'"),
    ],
)
def test_inventory_without_devices_or_with_bad_import_is_an_error(
    tmp_path: Path, text: str, message: str
) -> None:
    inventory = _tree(tmp_path, {"inventory.yaml": text, "h.yaml": "all:\n"})
    with pytest.raises(UsageError) as caught:
        load_inventory(inventory)
    assert message in caught.value.line()
