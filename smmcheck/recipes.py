"""Collector recipes: per platform, the only commands smmcheck may send to a device.

The targets are production OT equipment, so a recipe is checked when loaded: every command
must start with a read-only verb of its platform (IOS ``show``; Linux ``cat``, ``sshd -T``,
``ss`` ...). A recipe that would send anything else is a load error, not a warning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.resources import data_dir
from smmcheck.yamlfile import read_yaml, validate, where

# tail from the first line on with headers, then file names only: an option after them
# (-f, --follow) would keep the command running until its timeout.
_TAIL = "tail -v -n +1 "

# The first words a command may start with, per platform family. Anything that could
# change state (configure, write, reload, copy, rm, systemctl ...) is simply absent.
READ_ONLY: dict[str, tuple[str, ...]] = {
    "cisco_ios": ("show ",),
    "cisco_nxos": ("show ",),
    "linux": (
        "cat ",
        "sshd -T",
        "ss ",
        "uname",
        "id",
        "cryptsetup status ",
        "dmsetup table",
        "lsblk",
        "ls ",
        "stat ",
        "openssl x509 ",
        "dpkg-query ",
        "getent ",
        _TAIL,  # whole files, each after a `==> FILE <==` header
        "nginx -T",  # test-and-dump: nginx exits after it, before any -s signal
        "ps ",
        # Queries of systemd's units and of timedated: never start, stop or enable. Not
        # `timedatectl show-timesync`, which would start a stopped timesyncd (D-Bus).
        "systemctl show ",
        "timedatectl show ",
    ),
    "openwrt": ("cat ", "uci show", "uname", "ls ", "netstat ", "ubus call system board"),
}


# Options of read-only commands that would print secrets into the snapshot: dm-crypt keys.
_KEY_REVEALING = ("--showkeys",)


class Completeness(Frozen):
    """How to tell that an output is whole (all given conditions must hold)."""

    last_line: str | None = None  # e.g. `end` for a running-config
    contains: str | None = None
    min_lines: int | None = Field(default=None, ge=1)
    exit_status: int | None = None  # Linux exec channels report one

    def problem(self, output: str, status: int | None) -> str | None:
        """Why ``output`` is incomplete, or None when it passes."""
        lines = [line for line in output.splitlines() if line.strip()]
        if self.last_line is not None and (not lines or lines[-1].strip() != self.last_line):
            return f"output does not end with '{self.last_line}' (truncated)"
        if self.contains is not None and self.contains not in output:
            return f"output lacks '{self.contains}'"
        if self.min_lines is not None and len(lines) < self.min_lines:
            return f"output has {len(lines)} lines, fewer than {self.min_lines}"
        if self.exit_status is not None and status != self.exit_status:
            return f"exit status {status}, expected {self.exit_status}"
        return None


class Command(Frozen):
    """One read-only command and what its output must look like."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    command: str
    timeout: float = Field(default=60.0, gt=0, le=3600)
    complete: Completeness = Field(default_factory=Completeness)
    optional: bool = False  # a missing file or tool is recorded, not a device error


class Recipe(Frozen):
    """What to collect from one platform, and over which transport."""

    platform: Literal["cisco_ios", "cisco_nxos", "linux", "openwrt"]
    transport: Literal["netmiko", "paramiko"]
    netmiko_device_type: str | None = None
    enable: bool = False
    # Output fragments that mean the account lacks privilege for a command.
    privilege_errors: list[str] = Field(default_factory=list)
    commands: list[Command] = Field(min_length=1)

    @model_validator(mode="after")
    def _read_only(self) -> Recipe:
        allowed = READ_ONLY[self.platform]
        for command in self.commands:
            text = re.sub(r"\s+", " ", command.command.strip())
            if (
                not text.startswith(allowed)
                or any(c in text for c in (";", "&&", "|", "`", "$(", ">", "<"))
                or any(flag in text.split() for flag in _KEY_REVEALING)
                or (text.startswith(_TAIL) and "-" in {w[0] for w in text[len(_TAIL) :].split()})
            ):
                raise ValueError(
                    f"command '{command.command}' is not a read-only"
                    f" {self.platform} command (allowed: {', '.join(allowed)})"
                )
        names = [c.name for c in self.commands]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise ValueError(f"command name '{duplicate}' is used twice")
        return self


def load_recipe(platform: str, folder: Path | None = None) -> Recipe:
    """The recipe ``collectors/<platform>.yaml`` (built-in unless ``folder`` is given)."""
    path = (folder or data_dir("collectors")) / f"{platform}.yaml"
    if not path.is_file():
        raise UsageError(f"no collector recipe for platform '{platform}'", where=str(path))
    data, text = read_yaml(path, UsageError)
    recipe = validate(Recipe, data, path, text, UsageError)
    if recipe.platform != platform:
        raise UsageError(
            "recipe platform does not match its file name", where=where(path, recipe.platform, text)
        )
    return recipe
