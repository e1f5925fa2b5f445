"""crypt(3) hashes verified through the system's libcrypt, with hashes made by real tools."""

from __future__ import annotations

import ctypes
import subprocess

import pytest

from smmcheck.secrets import matching_candidate
from smmcheck.unixcrypt import _library, available

pytestmark = pytest.mark.skipif(not available(), reason="no libcrypt on this machine")


def _gensalt_hash(prefix: bytes, password: str) -> str:
    library = _library()
    assert library is not None
    library.crypt_gensalt.argtypes = [
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    library.crypt_gensalt.restype = ctypes.c_char_p
    setting = library.crypt_gensalt(prefix, 0, None, 0)
    return str(library.crypt(password.encode(), setting).decode())


@pytest.mark.parametrize("scheme", ["-1", "-5", "-6"])
def test_openssl_made_hashes_are_verified(scheme: str) -> None:
    stored = subprocess.run(
        ["openssl", "passwd", scheme, "raspberry"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert matching_candidate("crypt", stored, ["admin", "raspberry"]) == (True, "raspberry")
    assert matching_candidate("crypt", stored, ["admin", "root"]) == (False, None)


@pytest.mark.parametrize("prefix", [b"$y$", b"$2b$"])
def test_yescrypt_and_bcrypt_are_verified(prefix: bytes) -> None:
    stored = _gensalt_hash(prefix, "dietpi")
    assert matching_candidate("crypt", stored, ["root", "dietpi"]) == (True, "dietpi")


def test_locked_accounts_accept_no_password_and_cut_hashes_cannot_be_told() -> None:
    stored = _gensalt_hash(b"$6$", "admin")
    assert matching_candidate("crypt", "!" + stored, ["admin"]) == (False, None)
    assert matching_candidate("crypt", "*", ["admin"]) == (False, None)
    # A hash cut short (a copy, a redaction) is not evidence that no default matches.
    assert matching_candidate("crypt", stored[:-10], ["admin"]) == (None, None)
    assert matching_candidate("crypt", "$6$xxxxREDACTEDxxxx$", ["admin"]) == (None, None)


def test_nxos_sha256_crypt_is_verified_like_shadow() -> None:
    stored = subprocess.run(
        ["openssl", "passwd", "-5", "-salt", "n9kSalt", "admin"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert matching_candidate("5", stored, ["cisco", "admin"]) == (True, "admin")
    # Cisco's own type 5 (md5-crypt) still goes through the pure implementation.
    md5 = subprocess.run(
        ["openssl", "passwd", "-1", "cisco"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert matching_candidate("5", md5, ["cisco"]) == (True, "cisco")
