"""mosquitto's ``include_dir``: the files of /etc/mosquitto/conf.d are read where the line
stands, in the broker's own order, and their evidence names each file and its lines.

The order and placement were checked against mosquitto 2.0.11 itself: the broker cases at
the end start it with a main file that includes a folder and probe its listeners.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mosquitto_server import find_mosquitto, free_ports

from smmcheck.cli.main import main
from smmcheck.errors import UsageError
from smmcheck.facts import MqttListener
from smmcheck.inputs import discover, read_bundle, snapshot_bundle
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.mosquitto import mosquitto_facts
from smmcheck.parse.mosquitto_include import ARTIFACT, CONF_D, read_include_dir, split_tail
from smmcheck.recipes import load_recipe
from smmcheck.snapshot import DeviceCapture, OutputRecord, read_manifest, sha256_hex

STAMP = "2026-11-25T02:00:00.000Z"

DEBIAN_MAIN = """\
# Place your local configuration in /etc/mosquitto/conf.d/
#
# A full description of the configuration file is at
# /usr/share/doc/mosquitto/examples/mosquitto.conf.example

pid_file /run/mosquitto/mosquitto.pid

persistence true
persistence_location /var/lib/mosquitto/

log_dest file /var/log/mosquitto/mosquitto.log

include_dir /etc/mosquitto/conf.d
"""


def listeners(
    main_text: str, files: dict[str, str] | None, version: str | None = "2.0.11"
) -> list[MqttListener]:
    """The broker's listeners, with ``files`` (name: text) as the collected conf.d, or
    conf.d not collected when None."""
    config = Artifact("mosquitto-config", "/etc/mosquitto/mosquitto.conf", main_text)
    if files is None:
        given: tuple[Artifact, ...] = ()
    elif files:
        given = tuple(
            Artifact(f"{ARTIFACT}/{name}", f"{CONF_D}/{name}", text) for name, text in files.items()
        )
    else:  # collected, and none there: tail found no *.conf
        given = (Artifact(ARTIFACT, "gw/mosquitto-conf-d.txt", "", absent=True),)
    mqtt, _ = mosquitto_facts(config, version, read_include_dir(given))
    return list(mqtt)


def port(found: list[MqttListener], number: int) -> MqttListener:
    (listener,) = [listener for listener in found if listener.port == number]
    return listener


# --- which files, in which order ----------------------------------------------------------


def test_files_are_read_sorted_case_insensitively_upper_case_first() -> None:
    names = ["b.conf", "B.conf", "a.conf", "A.conf", ".hidden.conf", "_x.conf", "10-tls.conf"]
    given = tuple(Artifact(f"{ARTIFACT}/{n}", n, "") for n in names)
    included = read_include_dir(given)
    assert included is not None
    # The order mosquitto 2.0.11 logs ("Loading config file ...") for the same names.
    assert [Path(f.name).name for f in included.files] == [
        ".hidden.conf",
        "10-tls.conf",
        "A.conf",
        "a.conf",
        "B.conf",
        "b.conf",
        "_x.conf",
    ]


def test_only_names_ending_in_dot_conf_are_read() -> None:
    names = ["tls.conf", "tls.conf.bak", "notes.txt", ".conf", "README"]
    included = read_include_dir(tuple(Artifact(f"{ARTIFACT}/{n}", n, "") for n in names))
    assert included is not None
    assert [f.name for f in included.files] == [f"{CONF_D}/tls.conf"]


def test_a_file_read_later_overrides_an_earlier_one() -> None:
    main_text = "listener 1883\ninclude_dir /etc/mosquitto/conf.d\n"
    # a.conf is read before B.conf (case-insensitive), although "B" < "a" in byte order.
    files = {"B.conf": "allow_anonymous false\n", "a.conf": "allow_anonymous true\n"}
    (listener,) = listeners(main_text, files)
    assert listener.allow_anonymous is False
    files = {"A.conf": "allow_anonymous false\n", "a.conf": "allow_anonymous true\n"}
    (listener,) = listeners(main_text, files)
    assert listener.allow_anonymous is True


def test_included_options_land_where_the_include_dir_line_stands() -> None:
    files = {"auth.conf": "allow_anonymous true\n"}
    before = "listener 1883\nallow_anonymous false\ninclude_dir /etc/mosquitto/conf.d\n"
    after = "listener 1883\ninclude_dir /etc/mosquitto/conf.d\nallow_anonymous false\n"
    assert listeners(before, files)[0].allow_anonymous is True
    assert listeners(after, files)[0].allow_anonymous is False


def test_each_included_file_starts_at_the_default_listener() -> None:
    main_text = (
        "per_listener_settings true\nlistener 8883 127.0.0.1\nallow_anonymous true\n"
        "include_dir /etc/mosquitto/conf.d\n"
    )
    files = {"extra.conf": "bind_address 127.0.0.1\nport 1884\nallow_anonymous false\n"}
    found = listeners(main_text, files)
    assert port(found, 8883).allow_anonymous is True
    assert port(found, 1884).allow_anonymous is False
    assert (
        port(found, 1884).label == "mosquitto default listener (port 1884, bind_address 127.0.0.1)"
    )


def test_a_listener_is_not_continued_in_the_next_file() -> None:
    files = {
        "a.conf": "listener 8883\ncertfile /c.crt\nkeyfile /c.key\n",
        "b.conf": "tls_version tlsv1.2\n",  # configures the default listener
    }
    found = listeners("per_listener_settings false\ninclude_dir /etc/mosquitto/conf.d\n", files)
    assert port(found, 8883).tls is True
    assert port(found, 8883).tls_min_version is None


def test_an_include_dir_in_an_included_file_is_ignored() -> None:
    files = {"a.conf": "include_dir /opt/more\nlistener 1883\nallow_anonymous false\n"}
    (listener,) = listeners("include_dir /etc/mosquitto/conf.d\n", files)
    assert listener.allow_anonymous is False
    assert not listener.notes.get("allow_anonymous")


# --- evidence, and what stays unknown ----------------------------------------------------------


def test_evidence_names_the_included_file_and_its_own_lines() -> None:
    files = {
        "auth.conf": "# who may connect\nallow_anonymous false\npassword_file /etc/mosquitto/pw\n",
        "tls.conf": "listener 8883\ncertfile /c.crt\nkeyfile /c.key\ntls_version tlsv1.2\n",
    }
    (listener,) = listeners(DEBIAN_MAIN, files)
    assert (listener.tls, listener.tls_min_version, listener.allow_anonymous) == (
        True,
        "tlsv1.2",
        False,
    )
    cited = [(e.source, e.line, e.text) for e in listener.evidence]
    assert cited == [
        ("/etc/mosquitto/mosquitto.conf", 13, "include_dir /etc/mosquitto/conf.d"),
        ("/etc/mosquitto/conf.d/auth.conf", 2, "allow_anonymous false"),
        ("/etc/mosquitto/conf.d/auth.conf", 3, "password_file /etc/mosquitto/pw"),
        ("/etc/mosquitto/conf.d/tls.conf", 1, "listener 8883"),
        ("/etc/mosquitto/conf.d/tls.conf", 2, "certfile /c.crt"),
        ("/etc/mosquitto/conf.d/tls.conf", 3, "keyfile /c.key"),
        ("/etc/mosquitto/conf.d/tls.conf", 4, "tls_version tlsv1.2"),
    ]


def test_an_include_dir_other_than_the_collected_folder_stays_unknown() -> None:
    files = {"tls.conf": "listener 8883\nallow_anonymous false\n"}
    for folder in ("/opt/broker/conf.d", "conf.d"):  # relative: the broker's working dir
        (hidden,) = listeners(f"include_dir {folder}\n", files)
        assert hidden.label == f"mosquitto listeners of include_dir {folder}"
        assert (hidden.allow_anonymous, hidden.tls) == (None, None)


def test_the_collected_folder_matches_however_the_path_is_written() -> None:
    files = {"tls.conf": "listener 8883\nallow_anonymous false\n"}
    (listener,) = listeners("include_dir /etc/mosquitto//conf.d/\n", files)
    assert (listener.port, listener.allow_anonymous) == (8883, False)


def test_conf_d_not_collected_keeps_the_listeners_unknown() -> None:
    (hidden,) = listeners(DEBIAN_MAIN, None)
    assert hidden.allow_anonymous is None
    assert "include_dir /etc/mosquitto/conf.d" in hidden.notes["allow_anonymous"]


def test_an_empty_conf_d_is_known_to_add_nothing() -> None:
    # Known absent (tail found no *.conf): mosquitto 2.0 then runs in local only mode.
    found = listeners(DEBIAN_MAIN, {})
    assert [(f.bind, f.local_only, f.allow_anonymous) for f in found] == [
        ("127.0.0.1", True, True),
        ("::1", True, True),
    ]


def test_main_option_after_include_dir_is_known_unless_the_files_open_a_listener() -> None:
    main_text = (
        "per_listener_settings true\nlistener 8883 127.0.0.1\ninclude_dir /etc/mosquitto/conf.d\n"
        "allow_anonymous true\n"
    )
    quiet = listeners(main_text, {"log.conf": "log_type all\n"})
    assert port(quiet, 8883).allow_anonymous is True
    opening = listeners(main_text, {"more.conf": "listener 1884 127.0.0.1\n"})
    assert port(opening, 8883).allow_anonymous is None
    assert "lose track" in port(opening, 8883).notes["allow_anonymous"]


# --- the collector's tail output --------------------------------------------------------------


def tail_command(folder: Path) -> str:
    """The recipe's own command, pointed at ``folder`` instead of /etc/mosquitto/conf.d."""
    recipe = load_recipe("linux")
    command = next(c.command for c in recipe.commands if c.name == ARTIFACT)
    return command.replace(CONF_D, shlex.quote(str(folder)))


def run_tail(folder: Path) -> subprocess.CompletedProcess[str]:
    # Through a shell, as the SSH server runs an exec request: the shell expands the glob.
    return subprocess.run(
        ["sh", "-c", tail_command(folder)], capture_output=True, text=True, check=False
    )


def test_tail_output_splits_back_into_the_files(tmp_path: Path) -> None:
    contents = {
        "a.conf": "listener 1883\nallow_anonymous false\n",
        "b.conf": "",
        "c.conf": "# no newline at the end\nlistener 8883",
        "d.conf": "listener 8884\n\n",
    }
    for name, text in contents.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "README").write_text("not read\n")
    done = run_tail(tmp_path)
    assert done.returncode == 0, done.stderr
    files = split_tail(Artifact(ARTIFACT, "gw/mosquitto-conf-d.txt", done.stdout))
    assert [f.name for f in files] == [str(tmp_path / n) for n in contents]
    assert [f.text.splitlines() for f in files] == [t.splitlines() for t in contents.values()]
    assert files[0].source == f"gw/mosquitto-conf-d.txt ({tmp_path}/a.conf)"


def test_tail_of_one_file_still_prints_its_header(tmp_path: Path) -> None:
    (tmp_path / "only.conf").write_text("listener 1883\n")
    done = run_tail(tmp_path)
    assert done.stdout.splitlines()[0] == f"==> {tmp_path}/only.conf <=="
    included = read_include_dir((Artifact(ARTIFACT, "gw", done.stdout),), folder=str(tmp_path))
    assert included is not None
    assert [(f.name, f.text) for f in included.files] == [
        (f"{tmp_path}/only.conf", "listener 1883\n")
    ]


def test_tail_of_a_folder_without_conf_files_fails_with_no_such_file(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("Any files placed in this directory ...\n")
    for folder in (tmp_path, tmp_path / "missing"):
        done = run_tail(folder)
        assert (done.returncode, done.stdout) == (1, "")
        assert "No such file or directory" in done.stderr


@pytest.mark.parametrize("option", ["-f", "--follow=name", "-F"])
def test_a_recipe_tail_that_would_follow_its_files_is_refused(tmp_path: Path, option: str) -> None:
    (tmp_path / "linux.yaml").write_text(
        "platform: linux\ntransport: paramiko\ncommands:\n"
        f"  - {{name: logs, command: 'tail -v -n +1 {option} /var/log/syslog'}}\n"
    )
    with pytest.raises(UsageError, match="not a read-only linux command"):
        load_recipe("linux", tmp_path)


# --- the real broker ----------------------------------------------------------------------


def mosquitto_or_skip() -> Path:
    binary = find_mosquitto()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide mosquitto (see .ci/run)")
        pytest.skip("needs mosquitto")
    return binary


def broker_version(binary: Path) -> str:
    shown = subprocess.run([str(binary), "-h"], capture_output=True, text=True, check=False)
    return shown.stdout.split("version", 1)[1].split()[0]  # "mosquitto version 2.0.11"


@contextmanager
def running(binary: Path, config: Path, ports: list[int]) -> Iterator[None]:
    process = subprocess.Popen(
        [str(binary), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        for number in ports:
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    socket.create_connection(("127.0.0.1", number), timeout=0.5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"mosquitto does not listen on {number}"
                    time.sleep(0.02)
        yield
    finally:
        process.terminate()
        process.communicate(timeout=10)


def anonymous_plaintext_connect(number: int) -> bool:
    """Whether the broker accepts a plaintext MQTT 3.1.1 CONNECT without a username."""
    connect = bytes([0x10, 16, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 4]) + b"test"
    with socket.create_connection(("127.0.0.1", number), timeout=5) as stream:
        stream.sendall(connect)
        connack = stream.recv(4)
    assert connack[:2] == b"\x20\x02", connack
    return connack[3] == 0


# (main file before/after the include_dir line, {file: text}, {port: anonymous accepted}).
BROKER_CASES: dict[str, tuple[str, str, dict[str, str], dict[str, bool]]] = {
    "a-later-file-refuses": (
        "",
        "",
        {"10-listener.conf": "listener {a} 127.0.0.1\nallow_anonymous true\n",
         "20-auth.conf": "allow_anonymous false\n"},
        {"a": False},
    ),
    "case-insensitive-order": (
        "",
        "",
        {"B.conf": "allow_anonymous false\n",
         "a.conf": "listener {a} 127.0.0.1\nallow_anonymous true\n"},
        {"a": False},
    ),
    "main-file-after-include-dir-wins": (
        "",
        "allow_anonymous true\n",
        {"listener.conf": "listener {a} 127.0.0.1\nallow_anonymous false\n"},
        {"a": True},
    ),
    "each-file-starts-at-the-default-listener": (
        "per_listener_settings true\nlistener {a} 127.0.0.1\nallow_anonymous true\n",
        "",
        {"default.conf": "bind_address 127.0.0.1\nport {b}\nallow_anonymous false\n"},
        {"a": True, "b": False},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKER_CASES))
def test_the_broker_reads_its_include_dir_as_the_facts_say(case: str, tmp_path: Path) -> None:
    binary = mosquitto_or_skip()
    before, after, files, accepted = BROKER_CASES[case]
    numbers = dict(zip(("a", "b"), free_ports(2), strict=False))
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    for name, text in files.items():
        (conf_d / name).write_text(text.format(**numbers))
    main_text = (
        f"persistence false\nlog_dest stderr\n{before.format(**numbers)}"
        f"include_dir {conf_d}\n{after}"
    )
    (tmp_path / "mosquitto.conf").write_text(main_text)
    collected = run_tail(conf_d)
    assert collected.returncode == 0, collected.stderr
    included = read_include_dir(
        (Artifact(ARTIFACT, "gw/mosquitto-conf-d.txt", collected.stdout),), folder=str(conf_d)
    )
    config = Artifact("mosquitto-config", str(tmp_path / "mosquitto.conf"), main_text)
    mqtt, _ = mosquitto_facts(config, broker_version(binary), included)
    expected = {name: numbers[name] for name in accepted}
    facts = {name: port(list(mqtt), number) for name, number in expected.items()}
    assert {name: f.allow_anonymous for name, f in facts.items()} == accepted
    assert all((f.tls, f.local_only) == (False, True) for f in facts.values())
    with running(binary, tmp_path / "mosquitto.conf", list(expected.values())):
        seen = {name: anonymous_plaintext_connect(number) for name, number in expected.items()}
    assert seen == accepted


# --- offline inputs: a saved root file system, a snapshot ---------------------------------


def rootfs(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "gw-rootfs"
    for relative, text in {"etc/os-release": 'ID=debian\nVERSION_ID="12"\n', **files}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def test_a_root_file_system_gives_each_conf_d_file_as_an_artifact(tmp_path: Path) -> None:
    root = rootfs(
        tmp_path,
        {
            "etc/mosquitto/mosquitto.conf": DEBIAN_MAIN,
            "etc/mosquitto/conf.d/README": "Any files placed in this directory ...\n",
            "etc/mosquitto/conf.d/tls.conf": "listener 8883\ncertfile /c.crt\nkeyfile /c.key\n",
            "etc/mosquitto/conf.d/.hidden.conf": "allow_anonymous false\n",
        },
    )
    (found,) = discover([root])
    assert dict(found.artifacts)[f"{ARTIFACT}/tls.conf"] == root / "etc/mosquitto/conf.d/tls.conf"
    included = read_include_dir(read_bundle(found))
    assert included is not None
    assert [(f.name, f.source) for f in included.files] == [
        (f"{CONF_D}/.hidden.conf", str(root / "etc/mosquitto/conf.d/.hidden.conf")),
        (f"{CONF_D}/tls.conf", str(root / "etc/mosquitto/conf.d/tls.conf")),
    ]


def test_a_root_file_system_with_an_empty_conf_d_knows_it_is_empty(tmp_path: Path) -> None:
    root = rootfs(
        tmp_path,
        {"etc/mosquitto/mosquitto.conf": DEBIAN_MAIN, "etc/mosquitto/conf.d/README": "...\n"},
    )
    (found,) = discover([root])
    assert (ARTIFACT, None) in found.artifacts
    without = rootfs(tmp_path / "repo", {"etc/mosquitto/mosquitto.conf": DEBIAN_MAIN})
    (kept,) = discover([without])  # a configuration repository: the folder was not kept
    assert not any(name.startswith(ARTIFACT) for name, _ in kept.artifacts)


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    main(["check", "--format", "json", "--no-cache", *args])
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def statuses(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["policy"]: r for r in report["results"] if r["policy"].startswith("mqtt-")}


def test_check_of_a_root_file_system_judges_the_conf_d_listeners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = rootfs(
        tmp_path,
        {
            "etc/mosquitto/mosquitto.conf": DEBIAN_MAIN,
            "etc/mosquitto/conf.d/plain.conf": "listener 1883\npassword_file /etc/mosquitto/p\n",
        },
    )
    results = statuses(check_json(capsys, str(root)))
    tls_only = results["mqtt-tls-only"]
    assert tls_only["status"] == "fail"
    assert {"source": str(root / "etc/mosquitto/conf.d/plain.conf"), "line": 1} in [
        {"source": e["source"], "line": e["line"]} for e in tls_only["evidence"]
    ]


def test_a_collected_conf_d_without_conf_files_is_known_absent(
    tmp_path: Path, sshd: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # This host's own /etc/mosquitto/conf.d, collected over SSH with the built-in recipe.
    real = Path(CONF_D)
    if not real.is_dir() or any(p.name.endswith(".conf") for p in real.iterdir()):
        pytest.skip("needs Debian's mosquitto with a conf.d that holds no *.conf file")
    (tmp_path / "inventory.yaml").write_text(
        f"devices:\n  - {{name: gw-01, host: 127.0.0.1, port: {sshd.port}, platform: linux,"
        f" username: {sshd.user}, key_file: '{sshd.client_key}'}}\n"
    )
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")
    snapshot = tmp_path / "snapshot"
    code = main(
        [
            "collect",
            "--inventory",
            str(tmp_path / "inventory.yaml"),
            "--output",
            str(snapshot),
            "--known-hosts",
            str(tmp_path / "known_hosts"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    manifest = read_manifest(snapshot)
    assert manifest is not None
    (device,) = manifest.devices
    (record,) = [o for o in device.outputs if o.name == ARTIFACT]
    assert (record.complete, record.bytes) == (False, 0)
    assert "No such file or directory" in (record.problem or "")
    assert (ARTIFACT, None) in snapshot_bundle(snapshot, device).artifacts


def test_a_partly_printed_conf_d_with_a_missing_file_is_unknown_not_absent(
    tmp_path: Path,
) -> None:
    # A dangling x.conf link beside a real file: tail prints one and fails on the other.
    printed = b"==> /etc/mosquitto/conf.d/a.conf <==\nlistener 1883\n"
    records = []
    for name, data, problem in (
        ("os-release", b"ID=debian\n", None),
        (
            ARTIFACT,
            printed,
            "exit status 1, expected 0: tail: cannot open '/etc/mosquitto/conf.d/x.conf'"
            " for reading: No such file or directory",
        ),
    ):
        (tmp_path / "gw-01").mkdir(exist_ok=True)
        (tmp_path / "gw-01" / f"{name}.txt").write_bytes(data)
        records.append(
            OutputRecord(
                name=name,
                command="(test)",
                file=f"gw-01/{name}.txt",
                started=STAMP,
                finished=STAMP,
                sha256=sha256_hex(data),
                bytes=len(data),
                exit_status=1 if problem else 0,
                complete=problem is None,
                problem=problem,
            )
        )
    device = DeviceCapture(
        name="gw-01", host="192.0.2.50", port=22, platform="linux", outputs=records
    )
    names = [name for name, _ in snapshot_bundle(tmp_path, device).artifacts]
    assert names == ["os-release"]  # mosquitto-conf-d neither read nor known absent
