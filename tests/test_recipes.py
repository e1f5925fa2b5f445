"""Collector recipes send only read-only commands and know when an output is whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.errors import UsageError
from smmcheck.recipes import Completeness, load_recipe


@pytest.mark.parametrize("platform", ["cisco_ios", "linux"])
def test_builtin_recipes_load(platform: str) -> None:
    recipe = load_recipe(platform)
    assert recipe.platform == platform
    assert recipe.commands


def test_ios_running_config_must_end_with_end() -> None:
    running = next(c for c in load_recipe("cisco_ios").commands if c.name == "running-config")
    assert running.complete.problem("hostname a\n!\nend\n", None) is None
    assert "truncated" in (running.complete.problem("hostname a\ninterface Gi1\n", None) or "")


@pytest.mark.parametrize(
    "command",
    [
        "configure terminal",
        "write memory",
        "reload",
        "show run | redirect flash:x",
        "copy running-config tftp:",
        "show version; reload",
    ],
)
def test_a_recipe_with_a_state_changing_command_is_refused(tmp_path: Path, command: str) -> None:
    (tmp_path / "cisco_ios.yaml").write_text(
        "platform: cisco_ios\ntransport: netmiko\ncommands:\n"
        f"  - {{name: bad, command: '{command}'}}\n"
    )
    with pytest.raises(UsageError, match="is not a read-only cisco_ios command"):
        load_recipe("cisco_ios", tmp_path)


def test_linux_recipe_cannot_smuggle_shell_operators(tmp_path: Path) -> None:
    (tmp_path / "linux.yaml").write_text(
        "platform: linux\ntransport: paramiko\ncommands:\n"
        "  - {name: bad, command: 'cat /etc/os-release && rm -rf /tmp/x'}\n"
    )
    with pytest.raises(UsageError, match="not a read-only linux command"):
        load_recipe("linux", tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        "systemctl restart rsyslog",
        "systemctl enable --now systemd-timesyncd",
        "timedatectl set-ntp true",
        # Asks timesyncd over D-Bus, which starts it when it is enabled but stopped.
        "timedatectl show-timesync --all",
    ],
)
def test_linux_service_commands_other_than_queries_are_refused(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "linux.yaml").write_text(
        "platform: linux\ntransport: paramiko\ncommands:\n"
        f"  - {{name: bad, command: '{command}'}}\n"
    )
    with pytest.raises(UsageError, match="not a read-only linux command"):
        load_recipe("linux", tmp_path)


def test_a_read_only_command_that_would_print_disk_keys_is_refused(tmp_path: Path) -> None:
    (tmp_path / "linux.yaml").write_text(
        "platform: linux\ntransport: paramiko\ncommands:\n"
        "  - {name: keys, command: 'dmsetup table --showkeys'}\n"
    )
    with pytest.raises(UsageError, match="not a read-only linux command"):
        load_recipe("linux", tmp_path)


def test_completeness_conditions() -> None:
    check = Completeness(contains="ID=", min_lines=2, exit_status=0)
    assert check.problem("NAME=Debian\nID=debian\n", 0) is None
    assert check.problem("NAME=Debian\nID=debian\n", 1) == "exit status 1, expected 0"
    assert check.problem("ID=debian\n", 0) == "output has 1 lines, fewer than 2"
