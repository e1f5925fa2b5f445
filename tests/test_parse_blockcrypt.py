"""Encryption at rest: ``lsblk -J`` (what is mounted on a crypt device) and ``dmsetup table``
(cipher and key size) read into volumes.

``REAL_LSBLK`` is this test machine's own output (util-linux 2.38.1) while it held a
partitioned loop device with an ext4 partition mounted and a swap partition active; the
live test parses whatever lsblk prints here now. dmsetup cannot run here (the kernel has no
device-mapper), so its lines follow the formats of the sources: the kernel's
``crypt_status`` prints the key in hex, or ``:SIZE:TYPE:DESCRIPTION`` for a kernel-keyring
key, and dmsetup without ``--showkeys`` overwrites the hex with as many zeros (lvm2
``dmsetup.c``, ``_status``).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from smmcheck.facts import Volume
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.blockcrypt import aes256_verdict, crypt_targets, volume_facts
from smmcheck.parse.linux import parse_linux
from smmcheck.recipes import load_recipe

REAL_LSBLK = """\
{
   "blockdevices": [
      {
         "name": "loop0",
         "type": "loop",
         "fstype": null,
         "mountpoint": null,
         "size": "64M",
         "children": [
            {
               "name": "loop0p1",
               "type": "part",
               "fstype": null,
               "mountpoint": "/tmp/blk/data",
               "size": "16M"
            },{
               "name": "loop0p2",
               "type": "part",
               "fstype": null,
               "mountpoint": "[SWAP]",
               "size": "47M"
            }
         ]
      },{
         "name": "zram0",
         "type": "disk",
         "fstype": null,
         "mountpoint": null,
         "size": "0B"
      },{
         "name": "vda",
         "type": "disk",
         "fstype": null,
         "mountpoint": "/",
         "size": "256G"
      }
   ]
}
"""

# Debian 12, "guided - use entire disk and set up encrypted LVM": LVM on LUKS2.
LVM_ON_LUKS = """\
{
   "blockdevices": [
      {
         "name": "nvme0n1",
         "type": "disk",
         "fstype": null,
         "mountpoint": null,
         "size": "238.5G",
         "children": [
            {
               "name": "nvme0n1p1",
               "type": "part",
               "fstype": "vfat",
               "mountpoint": "/boot/efi",
               "size": "512M"
            },{
               "name": "nvme0n1p2",
               "type": "part",
               "fstype": "ext4",
               "mountpoint": "/boot",
               "size": "488M"
            },{
               "name": "nvme0n1p3",
               "type": "part",
               "fstype": "crypto_LUKS",
               "mountpoint": null,
               "size": "237.5G",
               "children": [
                  {
                     "name": "nvme0n1p3_crypt",
                     "type": "crypt",
                     "fstype": "LVM2_member",
                     "mountpoint": null,
                     "size": "237.5G",
                     "children": [
                        {
                           "name": "gw--vg-root",
                           "type": "lvm",
                           "fstype": "ext4",
                           "mountpoint": "/",
                           "size": "236.5G"
                        },{
                           "name": "gw--vg-swap_1",
                           "type": "lvm",
                           "fstype": "swap",
                           "mountpoint": "[SWAP]",
                           "size": "976M"
                        }
                     ]
                  }
               ]
            }
         ]
      }
   ]
}
"""
KEYRING_TABLE = """\
gw--vg-root: 0 495976448 linear 254:0 2048
gw--vg-swap_1: 0 1998848 linear 254:0 495978496
nvme0n1p3_crypt: 0 498040832 crypt aes-xts-plain64 \
:64:logon:cryptsetup:2f6a7c1e-4b0d-4f3e-9a51-8c2d7e9b0a14-d0 0 259:3 32768
"""

# util-linux before 2.33 prints each device on one line.
OLD_LSBLK = (
    "{\n"
    '   "blockdevices": [\n'
    '      {"name": "sda", "type": "disk", "fstype": null, "mountpoint": null, "size": "29.8G",\n'
    '         "children": [\n'
    '            {"name": "sda1", "type": "part", "fstype": "ext4", "mountpoint": "/boot",'
    ' "size": "243M"},\n'
    '            {"name": "sda2", "type": "part", "fstype": "crypto_LUKS", "mountpoint": null,'
    ' "size": "29.6G",\n'
    '               "children": [\n'
    '                  {"name": "sda2_crypt", "type": "crypt", "fstype": "ext4", "mountpoint": "/",'
    ' "size": "29.6G"}\n'
    "               ]\n"
    "            }\n"
    "         ]\n"
    "      }\n"
    "   ]\n"
    "}\n"
)


def lsblk(text: str) -> Artifact:
    return Artifact("block-devices", "gw-01/block-devices.txt", text)


def dm_table(text: str) -> Artifact:
    return Artifact("dm-table", "gw-01/dm-table.txt", text)


def by_mount(volumes: tuple[Volume, ...] | None) -> dict[str | None, Volume]:
    assert volumes is not None
    return {v.mountpoint: v for v in volumes}


def one_partition(name: str, fstype: str | None, mountpoint: str | None, kind: str = "part") -> str:
    """An lsblk tree of one disk with one partition, as util-linux 2.38 prints it."""
    return json.dumps(
        {
            "blockdevices": [
                {
                    "name": "mmcblk0",
                    "type": "disk",
                    "fstype": None,
                    "mountpoint": None,
                    "size": "14.6G",
                    "children": [
                        {
                            "name": name,
                            "type": kind,
                            "fstype": fstype,
                            "mountpoint": mountpoint,
                            "size": "14.5G",
                        }
                    ],
                }
            ]
        },
        indent=3,
    )


# --- dmsetup table ------------------------------------------------------------------------


def test_keyring_reference_gives_the_key_size_in_bytes() -> None:
    targets = crypt_targets(dm_table(KEYRING_TABLE))
    assert list(targets) == ["nvme0n1p3_crypt"]  # linear targets are not encryption
    (target,) = targets["nvme0n1p3_crypt"]
    assert (target.cipher, target.key_bits) == ("aes-xts-plain64", 512)
    assert target.evidence.line == 3


def test_masked_hex_key_gives_the_key_size_from_its_length() -> None:
    table = "data_crypt: 0 16773120 crypt aes-xts-plain64 " + "0" * 64 + " 0 179:3 4096\n"
    (target,) = crypt_targets(dm_table(table))["data_crypt"]
    assert target.key_bits == 256
    assert "0" * 64 in target.evidence.text  # zeros are no secret: kept as dmsetup printed


def test_a_shown_key_is_redacted_in_evidence() -> None:
    key = "3f9a" * 32  # what `dmsetup table --showkeys` would print
    table = f"data_crypt: 0 16773120 crypt aes-xts-plain64 {key} 0 179:3 4096 1 allow_discards\n"
    (target,) = crypt_targets(dm_table(table))["data_crypt"]
    assert target.key_bits == 512
    assert key not in target.evidence.text
    assert target.evidence.text == (
        "data_crypt: 0 16773120 crypt aes-xts-plain64 <redacted> 0 179:3 4096 1 allow_discards"
    )


@pytest.mark.parametrize(
    ("key", "told"),
    [
        ("-", "the mapping has no key"),
        # A keyring reference masked by a dmsetup older than keyring support: 60 zeros
        # would read as 240 bits, which no AES mode takes.
        ("0" * 61, "the key field shows no key size"),
    ],
)
def test_a_key_size_that_is_not_shown_stays_unknown(key: str, told: str) -> None:
    (target,) = crypt_targets(dm_table(f"x: 0 8 crypt aes-xts-plain64 {key} 0 8:2 0\n"))["x"]
    assert target.key_bits is None
    assert target.key_told == told


# --- cipher and key size -> AES-256 --------------------------------------------------------


@pytest.mark.parametrize(
    ("cipher", "key_bits", "aes256", "words"),
    [
        ("aes-xts-plain64", 512, True, "AES-256 (XTS splits the key in two)"),
        ("aes-xts-plain64", 256, False, "AES-128"),
        ("aes-cbc-essiv:sha256", 256, True, "AES-256"),
        ("aes-cbc-essiv:sha256", 128, False, "AES-128"),
        ("capi:xts(aes)-plain64", 512, True, "AES-256"),
        ("aes", 256, True, "AES-256"),  # dm-crypt's default mode: cbc
        ("aes-lrw-benbi", 384, True, "LRW keeps 128 bits"),
        ("serpent-xts-plain64", 512, False, "is not AES"),
        ("xchacha12,aes-adiantum-plain64", 256, False, "is not AES"),
        ("cipher_null-ecb", None, False, "is not AES"),
        ("aes-xts-plain64", None, None, "unknown size"),
        ("aes-xts-plain64", 240, None, "not a valid AES key size"),
        ("aes:64-cbc-lmk", 8192, None, "loop-AES"),
        ("capi:authenc(hmac(sha256),xts(aes))-random", 768, None, "does not model"),
        ("capi:rfc4106(gcm(aes))-random", 288, None, "does not model"),
    ],
)
def test_aes256_verdict(cipher: str, key_bits: int | None, aes256: bool | None, words: str) -> None:
    verdict, why = aes256_verdict(cipher, key_bits)
    assert verdict is aes256
    assert words in why


# --- lsblk: which file systems, on what ---------------------------------------------------


def test_real_lsblk_output_of_this_machine() -> None:
    mounts = by_mount(volume_facts(lsblk(REAL_LSBLK), dm_table("No devices found\n")))
    assert set(mounts) == {"/", "/tmp/blk/data", "[SWAP]"}  # zram0 holds nothing at rest
    root = mounts["/"]
    assert (root.label, root.encrypted, root.aes256) == ("/ (vda)", False, False)
    assert [(e.line, e.text) for e in root.evidence] == [
        (31, '"name": "vda",'),
        (34, '"mountpoint": "/",'),
    ]
    # A loop device's backing file may sit on an encrypted file system: unknown.
    for mount in ("/tmp/blk/data", "[SWAP]"):
        assert (mounts[mount].encrypted, mounts[mount].aes256) == (None, None)
    assert mounts["[SWAP]"].label == "swap (loop0p2)"


@pytest.mark.skipif(shutil.which("lsblk") is None, reason="no lsblk on this machine")
def test_live_lsblk_output_parses_with_its_lines() -> None:
    text = subprocess.run(
        ["lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINT,SIZE"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    volumes = volume_facts(lsblk(text), None)
    assert volumes is not None
    rows = text.splitlines()
    for volume in volumes:
        if volume.name is None:
            continue  # the root file system is on no listed device
        cited = [rows[e.line - 1] for e in volume.evidence]
        assert any(f'"{volume.name}"' in row for row in cited)
        assert any(json.dumps(volume.mountpoint) in row for row in cited)


def test_lvm_on_luks2_is_encrypted_through_its_crypt_parent() -> None:
    mounts = by_mount(volume_facts(lsblk(LVM_ON_LUKS), dm_table(KEYRING_TABLE)))
    assert set(mounts) == {"/", "[SWAP]"}  # /boot and /boot/efi are not judged
    for volume in mounts.values():
        assert volume.encrypted is True
        assert (volume.cipher, volume.key_bits, volume.aes256) == ("aes-xts-plain64", 512, True)
    root = mounts["/"]
    assert root.label == "/ (gw--vg-root on nvme0n1p3_crypt, dm-crypt)"
    cited = {(e.source, e.line) for e in root.evidence}
    assert ("gw-01/dm-table.txt", 3) in cited  # the crypt target
    assert ("gw-01/block-devices.txt", 30) in cited  # the crypt device in the tree
    assert ("gw-01/block-devices.txt", 40) in cited  # the root mount


def test_crypt_device_without_dmsetup_output_has_unknown_cipher() -> None:
    mounts = by_mount(volume_facts(lsblk(LVM_ON_LUKS), None))
    root = mounts["/"]
    assert (root.encrypted, root.cipher, root.aes256) == (True, None, None)
    assert "need `dmsetup table`" in root.notes["aes256"]


def test_crypt_device_missing_from_dmsetup_output_has_unknown_cipher() -> None:
    mounts = by_mount(volume_facts(lsblk(LVM_ON_LUKS), dm_table("No devices found\n")))
    assert mounts["/"].aes256 is None
    assert "not in the `dmsetup table` output" in mounts["/"].notes["aes256"]


def test_older_lsblk_with_one_line_per_device() -> None:
    table = "sda2_crypt: 0 62015488 crypt aes-cbc-essiv:sha256 " + "0" * 64 + " 0 8:2 4096\n"
    mounts = by_mount(volume_facts(lsblk(OLD_LSBLK), dm_table(table)))
    assert set(mounts) == {"/"}
    assert mounts["/"].aes256 is True
    assert [e.line for e in mounts["/"].evidence if e.source.endswith("block-devices.txt")] == [8]


def test_unopened_luks_partition_is_not_judged() -> None:
    text = one_partition("mmcblk0p1", "crypto_LUKS", None)
    volumes = volume_facts(lsblk(text), dm_table("No devices found\n"))
    # Nothing is mounted: only the placeholder for a root that lsblk does not show.
    assert volumes is not None
    assert [(v.label, v.aes256) for v in volumes] == [("/ (not on a listed block device)", None)]


@pytest.mark.parametrize(
    ("name", "fstype", "mountpoint", "kind"),
    [
        ("mmcblk0p1", "vfat", "/boot/efi", "part"),
        ("mmcblk0p1", "vfat", "/boot/firmware", "part"),
        ("mmcblk0p1", "ext4", "/boot", "part"),
        ("mmcblk0p1", "squashfs", "/rom", "part"),
        ("loop3", "squashfs", "/snap/core22/1380", "loop"),
        ("zram0", None, "[SWAP]", "disk"),
    ],
)
def test_mounts_without_data_at_rest_are_not_judged(
    name: str, fstype: str | None, mountpoint: str, kind: str
) -> None:
    volumes = volume_facts(lsblk(one_partition(name, fstype, mountpoint, kind)), None)
    assert volumes is not None
    assert [v.mountpoint for v in volumes if v.name is not None] == []


def test_plain_data_partition_is_unencrypted() -> None:
    volumes = volume_facts(lsblk(one_partition("mmcblk0p1", "ext4", "/data")), None)
    mounts = by_mount(volumes)
    assert (mounts["/data"].encrypted, mounts["/data"].aes256) == (False, False)
    assert mounts["/data"].notes["aes256"] == "not on a dm-crypt mapping"


def test_root_on_no_listed_device_is_unknown() -> None:
    volumes = volume_facts(lsblk(one_partition("mmcblk0p1", "ext4", "/data")), None)
    root = by_mount(volumes)["/"]
    assert (root.name, root.encrypted, root.aes256) == (None, None, None)
    assert root.evidence[0].line == 0


def test_crypt_target_set_up_without_cryptsetup_is_found_by_dmsetup() -> None:
    # No CRYPT- UUID: lsblk calls the mapping "dm"; dmsetup still shows the crypt target.
    text = one_partition("securedata", "ext4", "/", kind="dm")
    table = "securedata: 0 30408704 crypt aes-xts-plain64 " + "0" * 128 + " 0 179:1 0\n"
    root = by_mount(volume_facts(lsblk(text), dm_table(table)))["/"]
    assert (root.encrypted, root.aes256) == (True, True)


def test_segments_under_reencryption_count_the_weakest() -> None:
    table = (
        "data_crypt: 0 8388608 crypt aes-xts-plain64 :64:logon:cryptsetup:9d1e-d1 0 179:1 32768\n"
        "data_crypt: 8388608 22020096 crypt aes-xts-plain64 :32:logon:cryptsetup:9d1e-d0"
        " 0 179:1 8421376\n"
    )
    text = one_partition("data_crypt", "ext4", "/", kind="crypt")
    root = by_mount(volume_facts(lsblk(text), dm_table(table)))["/"]
    assert (root.key_bits, root.aes256) == (256, False)
    assert len([e for e in root.evidence if e.source.endswith("dm-table.txt")]) == 2


def test_volume_over_an_encrypted_and_a_plain_disk_counts_its_plain_path() -> None:
    # A volume group over two physical volumes: lsblk lists the logical volume under both.
    lv = {"name": "gw-data", "type": "lvm", "fstype": "ext4", "mountpoint": "/data", "size": "60G"}
    tree = {
        "blockdevices": [
            {
                "name": "sda",
                "type": "disk",
                "fstype": "crypto_LUKS",
                "mountpoint": None,
                "size": "29.8G",
                "children": [
                    {
                        "name": "sda_crypt",
                        "type": "crypt",
                        "fstype": "LVM2_member",
                        "mountpoint": None,
                        "size": "29.8G",
                        "children": [lv],
                    }
                ],
            },
            {
                "name": "sdb",
                "type": "disk",
                "fstype": "LVM2_member",
                "mountpoint": None,
                "size": "29.8G",
                "children": [lv],
            },
        ]
    }
    text = json.dumps(tree, indent=3)
    table = "sda_crypt: 0 62492672 crypt aes-xts-plain64 " + "0" * 128 + " 0 8:0 4096\n"
    data = by_mount(volume_facts(lsblk(text), dm_table(table)))["/data"]
    assert (data.label, data.encrypted, data.aes256) == ("/data (gw-data)", False, False)
    # The plain path's lines: the second listing of gw-data.
    rows = text.splitlines()
    assert [e.line for e in data.evidence] == [
        i for i, row in enumerate(rows, start=1) if '"gw-data"' in row or '"/data"' in row
    ][2:]


def test_mountpoints_column_lists_every_mount() -> None:
    text = one_partition("mmcblk0p1", "btrfs", "/").replace(
        '"mountpoint": "/"', '"mountpoints": ["/", "/home"]'
    )
    assert set(by_mount(volume_facts(lsblk(text), None))) == {"/", "/home"}


# --- the gateway parser -------------------------------------------------------------------


def gateway(*artifacts: Artifact) -> tuple[Volume, ...] | None:
    return parse_linux(artifacts, source="gw-01", sha256="0" * 64, name_hint="gw-01").volumes


def test_without_lsblk_output_volumes_are_unknown() -> None:
    assert gateway(dm_table(KEYRING_TABLE)) is None
    assert gateway(Artifact("block-devices", "gw-01", "", absent=True)) is None


def test_unreadable_lsblk_output_leaves_volumes_unknown() -> None:
    listing = 'NAME="vda" TYPE="disk" FSTYPE="" MOUNTPOINT="/" SIZE="256G"\n'  # lsblk -P
    assert gateway(lsblk(listing)) is None


def test_gateway_parser_reads_both_outputs() -> None:
    volumes = gateway(lsblk(LVM_ON_LUKS), dm_table(KEYRING_TABLE))
    assert [v.aes256 for v in volumes or ()] == [True, True]


def test_recipe_collects_both_outputs_and_never_asks_for_keys() -> None:
    commands = {c.name: c for c in load_recipe("linux").commands}
    assert commands["block-devices"].command.startswith("lsblk -J")
    assert commands["dm-table"].command == "dmsetup table"
    assert commands["dm-table"].optional and commands["block-devices"].optional
    assert not any("--showkeys" in c.command for c in commands.values())
