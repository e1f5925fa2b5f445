"""A device's category, zone and tags: the inventory first, then the project file's
``devices:``, else inferred from the platform — and said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from smmcheck.errors import UsageError
from smmcheck.facts import DeviceFacts, Interface
from smmcheck.identity import identify, infer_category
from smmcheck.project import DeviceAssignment, Project, Zone, load_project


def facts(platform: str, *, switchports: bool = False) -> DeviceFacts:
    ports = (
        (Interface(label="Gi0/1", name="Gi0/1", switchport_mode="access", access_vlan=30),)
        if switchports
        else (Interface(label="Gi0/0", name="Gi0/0"),)
    )
    return DeviceFacts(
        device="d", platform=platform, source="d.cfg", sha256="0" * 64, line_count=1,
        interfaces=ports,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("platform", "switchports", "category"),
    [
        ("linux", False, "gateway"),
        ("openwrt", False, "router"),
        ("cisco_nxos", False, "switch"),
        ("cisco_ios", True, "switch"),
        ("cisco_ios", False, "router"),
    ],
)
def test_category_is_inferred_from_platform_and_ports(
    platform: str, switchports: bool, category: str
) -> None:
    assert infer_category(facts(platform, switchports=switchports)) == category


def test_inventory_wins_over_project_which_wins_over_inference() -> None:
    project = Project(
        zones={"cell": Zone(subnets=["10.30.0.0/24"])},
        devices=[
            DeviceAssignment(match="plc-*", category="plc", zone="cell", tags=["line3"]),
            DeviceAssignment(match="*", category="server"),
        ],
    )
    ios = facts("cisco_ios")
    who = identify(ios, "plc-7", category="actuator", tags=("legacy",), project=project)
    assert (who.category, who.category_source, who.zone) == ("actuator", "inventory", "cell")
    assert who.tags == ("legacy", "line3")
    who = identify(ios, "plc-7", project=project)
    assert (who.category, who.category_source) == ("plc", "project")
    # First matching entry wins, as in a firewall rule list.
    assert identify(ios, "hist-1", project=project).category == "server"
    who = identify(ios, "edge-1")
    assert (who.category, who.category_source, who.zone) == ("router", "inferred", None)


def test_project_devices_must_name_known_zones(tmp_path: Path) -> None:
    path = tmp_path / "smmcheck.yaml"
    path.write_text(
        "zones:\n  cell: {subnets: [10.30.0.0/24]}\n"
        "devices:\n  - {match: 'plc-*', category: plc, zone: cel}\n"
    )
    with pytest.raises(UsageError) as caught:
        load_project(path)
    assert f"{path}:4" in caught.value.line()
    assert "unknown zone 'cel'" in caught.value.line()


def test_project_file_paths_are_relative_to_the_project_file(tmp_path: Path) -> None:
    path = tmp_path / "smmcheck.yaml"
    path.write_text("profile: profiles/ours.yaml\nwaivers: w.yaml\nattestations: a.yaml\n")
    project = load_project(path)
    assert project.waivers == tmp_path / "w.yaml"
    assert project.attestations == tmp_path / "a.yaml"
    assert project.profile == str(tmp_path / "profiles" / "ours.yaml")
    assert load_project(_write(tmp_path, "profile: large\n")).profile == "large"


def _write(folder: Path, text: str) -> Path:
    path = folder / "other.yaml"
    path.write_text(text)
    return path


def test_the_project_file_sets_the_site_and_site_overrides_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from smmcheck.cli.main import main

    demo = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
    config = tmp_path / "core-sw01.cfg"
    config.write_text((demo / "core-sw01.cfg").read_text())
    project = tmp_path / "smmcheck.yaml"
    project.write_text("site: north\n")
    sites = []
    for extra in ([], ["--site", "south"]):
        main(["check", str(config), "--project", str(project), "--format", "json", *extra])
        sites.append(json.loads(capsys.readouterr().out)["devices"][0]["site"])
    assert sites == ["north", "south"]
