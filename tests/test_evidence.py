"""Evidence packs: ``smmcheck evidence pack`` writes one deterministic tar.gz of what a check
read, used and concluded; ``smmcheck evidence verify`` proves it intact and reproduces its
results from the packed files alone, as of the pack's date."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from smmcheck.cli.main import main
from smmcheck.evidence import PackRequest, write_pack

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The demo's type 9 secrets cost seconds to check cold: the tests of this module share
    # one private cache (verify re-parses whatever changed: the cache is keyed by content).
    return tmp_path_factory.mktemp("evidence-cache")


@pytest.fixture(autouse=True)
def _shared_cache(module_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMMCHECK_CACHE_DIR", str(module_cache))


@pytest.fixture(scope="module")
def demo_pack(tmp_path_factory: pytest.TempPathFactory, module_cache: Path) -> Path:
    """The demo plant packed once, as `smmcheck demo` checks it (project file, site)."""
    output = tmp_path_factory.mktemp("demo-pack") / "demo.tar.gz"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SMMCHECK_CACHE_DIR", str(module_cache))
        code = main(
            [
                "evidence",
                "pack",
                str(DEMO),
                "--project",
                str(DEMO / "smmcheck.yaml"),
                "--site",
                "plant-a",
                "--output",
                str(output),
            ]
        )
    assert code == 1  # the demo has failures on purpose: the pack gates like `check`
    return output


def members(pack: Path) -> dict[str, bytes]:
    with tarfile.open(pack, "r:gz") as tar:
        found = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None
            found[member.name] = handle.read()
        return found


def rebuild(target: Path, content: dict[str, bytes], *extra: tarfile.TarInfo) -> Path:
    """A tar.gz of ``content`` (as a hand-edited pack would be), plus special members."""
    with tarfile.open(target, "w:gz") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return target


def relisted(content: dict[str, bytes], *, as_of: str | None = None) -> dict[str, bytes]:
    """``content`` with pack.json's hashes, sizes and root digest made consistent again."""
    info = json.loads(content["pack.json"])
    info["files"] = [
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in sorted(content.items())
        if name != "pack.json"
    ]
    lines = "".join(f"{f['sha256']}  {f['path']}\n" for f in info["files"])
    info["root_digest"] = hashlib.sha256(lines.encode()).hexdigest()
    if as_of is not None:
        info["as_of"] = as_of
    return {**content, "pack.json": json.dumps(info).encode()}


def verify(capsys: pytest.CaptureFixture[str], pack: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["evidence", "verify", str(pack), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_pack_holds_inputs_catalogue_project_and_reports(demo_pack: Path) -> None:
    content = members(demo_pack)
    names = sorted(content)
    assert not [n for n in names if n.startswith("/") or ".." in n.split("/")]
    assert "inputs/demo/acc-sw01.cfg" in names
    assert "inputs/demo/gateway-snapshot/manifest.json" in names
    assert "inputs/demo/gateway-snapshot/iot-gw01/shadow.txt" in names
    assert "inputs/demo/cell-rtr01/etc/config/firewall" in names
    # Only what the check read: notes and the project's own files are not inputs.
    assert "inputs/demo/expected.yaml" not in names
    assert "inputs/demo/smmcheck.yaml" not in names
    assert "catalogue/policies/builtin/access/telnet-disabled.yaml" in names
    assert "catalogue/policies/builtin/lists/default-passwords.yaml" in names
    assert "catalogue/mappings/builtin/iic-smm.yaml" in names
    assert "catalogue/mappings/builtin/profiles/medium.yaml" in names
    assert not [n for n in names if n.endswith(".tests.yaml")]  # test cases are not loaded
    assert {"project/smmcheck.yaml", "project/waivers.yaml", "project/attestations.yaml"} < set(
        names
    )
    for report in ("results.json", "junit.xml", "results.sarif", "maturity.json", "maturity.md"):
        assert f"results/{report}" in names
    for framework in ("iec-62443-3-3", "nist-ir-8259a", "iic-smm", "owasp-iot-top10"):
        assert f"results/compliance-{framework}.json" in names
        assert f"results/compliance-{framework}.md" in names

    info = json.loads(content["pack.json"])
    assert info["schema"] == "smmcheck.evidence/v1"
    assert info["as_of"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert info["exit_code"] == 1
    assert info["summary"]["by_status"]["waived"] == 1
    listed = {f["path"]: f for f in info["files"]}
    assert list(listed) == [n for n in names if n != "pack.json"]  # sorted, every member
    config = content["inputs/demo/acc-sw01.cfg"]
    assert config == (DEMO / "acc-sw01.cfg").read_bytes()
    assert listed["inputs/demo/acc-sw01.cfg"]["sha256"] == hashlib.sha256(config).hexdigest()

    # The check ran on the staged copy and still gives the demo's published verdicts.
    results = json.loads(content["results/results.json"])
    expected = yaml.safe_load((DEMO / "expected.yaml").read_text())
    assert {(r["device"], r["policy"]): r["status"] for r in results["results"]} == {
        (device, policy): (v if isinstance(v, str) else v["status"])
        for device, verdicts in expected.items()
        for policy, v in verdicts.items()
    }
    sources = {d["name"]: d["source"] for d in results["devices"]}
    assert sources["acc-sw01"] == "inputs/demo/acc-sw01.cfg"
    assert sources["iot-gw01"] == "inputs/demo/gateway-snapshot/iot-gw01"
    assert results["waivers"]["file"] == "project/waivers.yaml"
    assert results["run"]["started"] == f"{info['as_of']}T00:00:00Z"


def test_demo_pack_verifies(demo_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = verify(capsys, demo_pack, "--no-cache")
    assert code == 0, out
    digest = json.loads(members(demo_pack)["pack.json"])["root_digest"]
    assert out.splitlines()[-1].startswith(f"{demo_pack}: verified:")
    assert out.splitlines()[-1].endswith(f"root digest {digest}")
    assert len(out.splitlines()) == 1


def test_two_packs_of_the_same_inputs_differ_only_in_created(
    demo_pack: Path, tmp_path: Path
) -> None:
    again = tmp_path / "demo.tar.gz"
    argv = ["evidence", "pack", str(DEMO), "--project", str(DEMO / "smmcheck.yaml")]
    assert main([*argv, "--site", "plant-a", "--output", str(again)]) == 1
    first, second = members(demo_pack), members(again)
    assert list(first) == list(second) == sorted(first)  # sorted member names
    assert [n for n in first if first[n] != second[n]] in ([], ["pack.json"])
    one, two = json.loads(first["pack.json"]), json.loads(second["pack.json"])
    one.pop("created")
    two.pop("created")
    assert one == two
    with tarfile.open(again, "r:gz") as tar:
        assert {(m.mtime, m.uid, m.gid, m.mode, m.uname) for m in tar.getmembers()} == {
            (0, 0, 0, 0o600, "")
        }
    assert again.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header mtime
    assert again.stat().st_mode & 0o777 == 0o600  # raw device data: owner-only


def test_a_pack_extracted_and_packed_again_with_tar_still_verifies(
    demo_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An auditor who unpacks a pack to read it, and packs it again, keeps a valid pack:
    # GNU tar adds folder members and a leading ./ to every name.
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(demo_pack), "-C", str(unpacked)], check=True)
    again = tmp_path / "again.tar.gz"
    subprocess.run(["tar", "-czf", str(again), "-C", str(unpacked), "."], check=True)
    with tarfile.open(again, "r:gz") as tar:
        assert any(m.isdir() for m in tar.getmembers())
        assert all(m.name.startswith(".") for m in tar.getmembers())
    code, out, _ = verify(capsys, again)
    assert code == 0, out


def test_a_changed_byte_in_a_config_is_named(
    demo_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = members(demo_pack)
    config = bytearray(content["inputs/demo/acc-sw01.cfg"])
    config[100] ^= 0x01
    content["inputs/demo/acc-sw01.cfg"] = bytes(config)
    code, out, _ = verify(capsys, rebuild(tmp_path / "tampered.tar.gz", content))
    assert code == 1
    assert f"{tmp_path / 'tampered.tar.gz'}: member inputs/demo/acc-sw01.cfg: sha256 differs" in out
    assert "integrity check failed" in out.splitlines()[-1]
    assert "results differ" not in out  # not re-checked: the pack is already refused


def test_a_consistently_tampered_config_is_not_reproducible(
    demo_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = members(demo_pack)
    config = content["inputs/demo/acc-sw01.cfg"]
    assert b" transport input telnet ssh\n" in config
    content["inputs/demo/acc-sw01.cfg"] = config.replace(
        b" transport input telnet ssh\n", b" transport input ssh\n"
    )
    code, out, _ = verify(capsys, rebuild(tmp_path / "forged.tar.gz", relisted(content)))
    assert code == 1
    assert "sha256 differs" not in out  # integrity holds: the forgery is consistent
    assert "results differ: acc-sw01 telnet-disabled: packed fail, re-checked pass" in out
    assert "devices differ: acc-sw01: sha256: packed" in out
    assert "not reproducible" in out.splitlines()[-1]


def test_members_added_or_removed_are_named(
    demo_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = members(demo_pack)
    del content["project/waivers.yaml"]
    content["inputs/demo/extra.cfg"] = b"hostname extra\nend\n"
    code, out, _ = verify(capsys, rebuild(tmp_path / "edited.tar.gz", content))
    assert code == 1
    assert "member project/waivers.yaml: missing (listed in pack.json)" in out
    assert "member inputs/demo/extra.cfg: not listed in pack.json" in out


def unsafe_members() -> Iterator[tarfile.TarInfo]:
    traversal = tarfile.TarInfo("../x")
    traversal.size = 1
    yield traversal
    link = tarfile.TarInfo("inputs/demo/link.cfg")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    yield link


@pytest.mark.parametrize("member", list(unsafe_members()), ids=["dotdot", "symlink"])
def test_an_unsafe_archive_is_refused_before_anything_is_extracted(
    demo_pack: Path, tmp_path: Path, member: tarfile.TarInfo
) -> None:
    pack = rebuild(tmp_path / "unsafe.tar.gz", members(demo_pack), member)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "smmcheck", "evidence", "verify", str(pack)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    if member.issym():
        assert "member inputs/demo/link.cfg: a symbolic link to '/etc/shadow'" in done.stdout
    else:
        assert "member '../x': unsafe path (absolute or '..'): nothing extracted" in done.stdout
    assert "Traceback" not in done.stderr
    assert list(scratch.iterdir()) == []  # no temporary folder was even created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "unsafe.tar.gz"]


def test_files_that_are_not_packs_exit_2(
    demo_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.tar.gz"
    text.write_text("not an archive\n")
    code, _, err = verify(capsys, text)
    assert code == 2
    assert "not an evidence pack: not a readable tar.gz" in err

    content = members(demo_pack)
    without = {n: d for n, d in content.items() if n != "pack.json"}
    code, _, err = verify(capsys, rebuild(tmp_path / "bare.tar.gz", without))
    assert code == 2
    assert "not an evidence pack: it has no pack.json" in err

    info = json.loads(content["pack.json"])
    info["schema"] = "smmcheck.evidence/v0"
    other = rebuild(tmp_path / "old.tar.gz", {**content, "pack.json": json.dumps(info).encode()})
    code, _, err = verify(capsys, other)
    assert code == 2
    assert "schema is 'smmcheck.evidence/v0', expected 'smmcheck.evidence/v1'" in err

    assert verify(capsys, tmp_path / "absent.tar.gz")[0] == 2


def test_a_waiver_active_on_the_pack_date_stays_waived_when_verified_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo's telnet waiver for ot-sw01 expired on 2025-09-30 (inclusive): packed on that
    # date it covers the failure, and the pack must verify whatever today is.
    request = PackRequest(
        paths=[DEMO / "ot-sw01.cfg"], command="test", waivers=DEMO / "waivers.yaml"
    )
    pack = tmp_path / "ot.tar.gz"
    info, report = write_pack(request, pack, as_of=dt.date(2025, 9, 30))
    assert info.as_of == dt.date(2025, 9, 30) < dt.datetime.now(dt.UTC).date()
    status = {r.policy: r.status for r in report.results}
    assert status["telnet-disabled"] == "waived"
    code, out, _ = verify(capsys, pack)
    assert code == 0, out
    assert "as of 2025-09-30" in out

    # Judged a day later, the same waiver has lapsed: an as_of changed in pack.json is caught.
    later = rebuild(tmp_path / "later.tar.gz", relisted(members(pack), as_of="2025-10-01"))
    code, out, _ = verify(capsys, later)
    assert code == 1
    assert "summary in pack.json differs: by_status.fail: packed" in out
    assert "results differ: ot-sw01 telnet-disabled: packed waived, re-checked fail" in out


@pytest.mark.parametrize(
    ("folder", "device", "marker"),
    [
        ("gateway-snapshot", "iot-gw01", "inputs/gateway-snapshot/manifest.json"),
        ("cell-rtr01", "cell-rtr01", "inputs/cell-rtr01/etc/openwrt_release"),
    ],
)
def test_gateway_snapshot_and_openwrt_folder_packs_verify(
    folder: str, device: str, marker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / f"{folder}.tar.gz"
    assert main(["evidence", "pack", str(DEMO / folder), "--output", str(pack)]) == 1
    content = members(pack)
    assert marker in content
    results = json.loads(content["results/results.json"])
    assert [(d["name"], d["source"]) for d in results["devices"]] == [
        (device, f"inputs/{folder}" + ("/iot-gw01" if folder == "gateway-snapshot" else ""))
    ]
    assert results["summary"]["devices_in_error"] == 0
    code, out, _ = verify(capsys, pack)
    assert code == 0, out


def test_a_whole_image_keeps_the_folders_that_make_files_known_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A saved image (etc/passwd and usr/) without mosquitto has no broker: the MQTT policies
    # are not applicable. In a configuration repository (no usr/) that would be unknown.
    image = tmp_path / "images" / "gw-img"
    (image / "etc" / "ssh").mkdir(parents=True)
    (image / "usr").mkdir()
    (image / "etc" / "os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (image / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (image / "etc" / "hostname").write_text("gw-img\n")
    (image / "etc" / "ssh" / "sshd_config").write_text("PermitRootLogin yes\n")
    assert main(["check", str(image), "--format", "json", "--output", str(tmp_path / "r.json")])
    checked = json.loads((tmp_path / "r.json").read_text())
    pack = tmp_path / "image.tar.gz"
    assert main(["evidence", "pack", str(image), "--output", str(pack)]) == 1
    content = members(pack)
    assert json.loads(content["pack.json"])["directories"] == ["inputs/gw-img/usr"]
    packed = json.loads(content["results/results.json"])
    statuses = {r["policy"]: r["status"] for r in packed["results"]}
    assert statuses == {r["policy"]: r["status"] for r in checked["results"]}
    assert statuses["mqtt-no-anonymous"] == "not_applicable"
    code, out, _ = verify(capsys, pack)
    assert code == 0, out


def test_project_files_outside_the_project_folder_are_packed_and_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    shared = tmp_path / "shared"
    site.mkdir()
    shared.mkdir()
    (site / "acc-sw01.cfg").write_bytes((DEMO / "acc-sw01.cfg").read_bytes())
    profile = (DEMO.parent.parent / "mappings" / "profiles" / "small.yaml").read_text()
    (shared / "plant.yaml").write_text(profile.replace("id: small", "id: plant-a-targets"))
    (shared / "attestations.yaml").write_bytes((DEMO / "attestations.yaml").read_bytes())
    (site / "smmcheck.yaml").write_text(
        "profile: ../shared/plant.yaml\nattestations: ../shared/attestations.yaml\n"
    )
    pack = tmp_path / "site.tar.gz"
    argv = ["evidence", "pack", str(site), "--project", str(site / "smmcheck.yaml")]
    assert main([*argv, "--output", str(pack)]) == 1
    content = members(pack)
    assert {"project/smmcheck.yaml", "project/plant.yaml", "project/attestations.yaml"} < set(
        content
    )
    maturity = json.loads(content["results/maturity.json"])
    assert maturity["profile"]["id"] == "plant-a-targets"
    assert maturity["profile"]["source"] == "project/plant.yaml, set in the project file"
    assert maturity["attestations"]  # the attestations were found and judged
    code, out, _ = verify(capsys, pack)
    assert code == 0, out


def test_user_policies_and_a_profile_option_are_packed_and_only_the_pack_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "site-policies" / "access"
    own.mkdir(parents=True)
    policy = Path(__file__).parent / "data" / "vty-timeout-five-minutes.yaml"
    (own / "vty-timeout-five-minutes.yaml").write_bytes(policy.read_bytes())
    pack = tmp_path / "own.tar.gz"
    argv = ["evidence", "pack", str(DEMO / "acc-sw01.cfg"), "--profile", "large"]
    argv += ["--policies", str(tmp_path / "site-policies"), "--output", str(pack)]
    assert main(argv) == 1
    content = members(pack)
    assert "catalogue/policies/extra-1/access/vty-timeout-five-minutes.yaml" in content
    assert "catalogue/mappings/builtin/profiles/large.yaml" in content
    results = json.loads(content["results/results.json"])
    assert "vty-timeout-five-minutes" in {r["policy"] for r in results["results"]}
    assert json.loads(content["results/maturity.json"])["profile"]["source"] == "set by --profile"
    code, out, _ = verify(capsys, pack)
    assert code == 0, out

    # The re-check reads the packed policy, not the installed one: a policy edited inside
    # the pack (consistently listed) changes the re-checked results.
    name = "catalogue/policies/builtin/access/telnet-disabled.yaml"
    assert b"severity: high\n" in content[name]
    content[name] = content[name].replace(b"severity: high\n", b"severity: low\n")
    code, out, _ = verify(capsys, rebuild(tmp_path / "edited.tar.gz", relisted(content)))
    assert code == 1
    line = 'results differ: acc-sw01 telnet-disabled: severity: packed "high", re-checked "low"'
    assert line in out


def test_pack_usage_errors_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "out" / "pack.tar.gz"
    code = main(["evidence", "pack", str(tmp_path / "missing"), "--output", str(pack)])
    assert code == 2
    assert "path not found" in capsys.readouterr().err
    assert not pack.parent.exists() or list(pack.parent.iterdir()) == []


def test_pack_help_warns_that_packs_hold_confidential_device_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["evidence", "pack", "--help"]) == 0
    out = capsys.readouterr().out
    assert "CONFIDENTIAL" in out
    assert "/etc/shadow" in out
