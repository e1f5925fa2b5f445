"""Fast start: `smmcheck --help` and `smmcheck policy list` import none of the heavy
libraries (parsing, SSH, console rendering). Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("netmiko", "paramiko", "ciscoconfparse2", "loguru", "rich", "jinja2")

SCRIPT = """
import contextlib, io, json, sys
from smmcheck.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({argv!r})
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["policy", "list"], ["policy", "show", "telnet-disabled"]]
)
def test_light_commands_do_not_import_heavy_libraries(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 0
    assert outcome["loaded"] == []


def test_help_and_policy_list_in_one_process_stay_light() -> None:
    script = SCRIPT.replace(
        "code = main({argv!r})", 'code = main(["--help"]) + main(["policy", "list"])'
    ).format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "loaded": []}


def test_the_probe_sees_heavy_imports_when_a_config_is_parsed(tmp_path: Path) -> None:
    # Control: checking a config does import the parser, so the probe above is not blind.
    config = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "core-sw01.cfg"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(argv=["check", str(config)], heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "SMMCHECK_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 0
    assert "ciscoconfparse2" in outcome["loaded"]


def test_optimised_python_is_refused_with_one_line_instead_of_hanging(tmp_path: Path) -> None:
    # ciscoconfparse2 fails to import under -O and its logger thread then hangs the process.
    config = tmp_path / "sw1.cfg"
    config.write_text("version 17.9\nhostname sw1\nend\n")
    done = subprocess.run(
        [sys.executable, "-O", "-m", "smmcheck", "check", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "smmcheck: error: smmcheck cannot run under 'python -O': ciscoconfparse2 needs assert"
        " statements (hint: run without -O / PYTHONOPTIMIZE)"
    ]
