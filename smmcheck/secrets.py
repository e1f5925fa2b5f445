"""Check candidate passwords against secrets stored in network-device configurations.

Devices keep passwords in a handful of Cisco-numbered "storage types". Some are reversible
(type 0 is clear text, type 7 is a fixed-key XOR), the rest are one-way hashes that can only be
tested by re-hashing a guess. Policies use this module to ask "is this device still using a
default or otherwise well-known password?" without ever needing the real password.

Every verdict is three-valued: True (the candidate produces the stored secret), False (the
secret is well formed and the candidate does not produce it) and None (we cannot tell: unknown
storage type, a malformed value, or a value that a config export redacted). Callers must not
read None as "no match": a redacted hash says nothing about the password behind it.

The module is pure (no I/O, no state) and uses only the standard library; Unix crypt(3)
hashes (``storage_type`` "crypt", and NX-OS's sha256-crypt) go to :mod:`smmcheck.unixcrypt`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Final

# Cisco's type 7 key as published. IOS itself only reaches the first 40 characters (seed 0-15
# plus at most 25 password characters); for longer strings we wrap round the key rather than
# reject them, since rejecting would turn a readable secret into "cannot tell".
_TYPE7_KEY: Final = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"

# Cisco (and traditional Unix crypt) base64 alphabet: same 64 symbols as RFC 4648 but in
# ASCII order, with no padding.
_CRYPT64: Final = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CRYPT64_SET: Final = frozenset(_CRYPT64)
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")

# Parameters fixed by Cisco for types 8 and 9; the stored string does not carry them, so a
# hash made with anything else simply would not be a type 8/9 hash.
_TYPE8_ITERATIONS: Final = 20_000
_TYPE9_N: Final = 16_384
_TYPE9_R: Final = 1
_TYPE9_P: Final = 1
_SHA256_LEN: Final = 32
# 32 bytes in unpadded base64 is 43 characters; the last one carries 2 spare bits.
_SHA256_B64_LEN: Final = 43
# md5-crypt encodes its 16-byte digest as 22 characters; the last carries 4 spare bits.
_MD5CRYPT_HASH_LEN: Final = 22
_MD5CRYPT_MAX_SALT: Final = 8
_MD5CRYPT_ROUNDS: Final = 1000
# Cisco generates 14-character salts for types 8/9; we accept other lengths (the algorithm
# does not care) but cap it so an arbitrary blob is not mistaken for a salt.
_MAX_SALT_LEN: Final = 64

_RECOVERABLE_TYPES: Final = frozenset({"0", "7"})


def is_recoverable(storage_type: str) -> bool:
    """Return True if a secret of this storage type can be turned back into the password.

    Type 0 is stored in clear and type 7 is a reversible XOR obfuscation, so anyone holding
    the configuration holds the password. Every other type is either a one-way hash or (type 6)
    needs a device-local master key we never have.
    """
    return storage_type in _RECOVERABLE_TYPES


def decode_type7(encoded: str) -> str | None:
    """Decode a Cisco type 7 (Vigenère-style XOR with the well-known key) string.

    The format is two decimal digits giving the starting offset into the key, followed by
    one hex byte per password character. Returns None if the text is not in that format or
    does not decode to printable ASCII.
    """
    text = encoded.strip()
    # At least the seed and one character, and hex bytes come in pairs.
    if len(text) < 4 or len(text) % 2 != 0:
        return None
    seed_text, body = text[:2], text[2:]
    # str.isdigit() also accepts non-ASCII digits, which int() would then happily parse.
    if not all(c in "0123456789" for c in seed_text):
        return None
    seed = int(seed_text)
    if seed >= len(_TYPE7_KEY):
        return None
    # bytes.fromhex() tolerates embedded whitespace; a type 7 token never contains any.
    if not all(c in _HEX_DIGITS for c in body):
        return None
    cipher = bytes.fromhex(body)
    plain = bytes(
        byte ^ _TYPE7_KEY[(seed + index) % len(_TYPE7_KEY)] for index, byte in enumerate(cipher)
    )
    # Device passwords are printable ASCII. A random or redacted hex string decodes to
    # control bytes, so this is what separates "a type 7 secret" from "some hex".
    if not all(0x20 <= byte <= 0x7E for byte in plain):
        return None
    return plain.decode("ascii")


def verify_secret(storage_type: str, value: str, candidate: str) -> bool | None:
    """Report whether `candidate` produces the secret stored as `value`.

    storage_type is the Cisco type number as a string:
    "0" clear text, "7" type 7 obfuscation, "5" md5-crypt ($1$salt$hash),
    "4" unsalted SHA-256 in Cisco base64, "8" PBKDF2-HMAC-SHA256 with 20000 iterations
    ($8$salt$hash), "9" scrypt with N=16384, r=1, p=1 ($9$salt$hash).

    Returns True or False when the question can be decided, and None when it cannot: unknown
    storage type, or a malformed or redacted value such as '$9$xxxxSECRETxxxx' or '<removed>'.
    """
    check = _prepare(storage_type, value)
    if check is None:
        return None
    return check(candidate)


def matching_candidate(
    storage_type: str, value: str, candidates: Iterable[str]
) -> tuple[bool | None, str | None]:
    """Find the first candidate that produces the stored secret.

    Returns (True, candidate) on the first match, (False, None) if the secret is decidable and
    no candidate matches, and (None, None) if the secret cannot be checked at all (in which
    case `candidates` is not consumed). The stored value is parsed once, not once per
    candidate, so a long candidate list only pays for the hashing itself.
    """
    check = _prepare(storage_type, value)
    if check is None:
        return (None, None)
    for candidate in candidates:
        if check(candidate):
            return (True, candidate)
    return (False, None)


# --- parsing: turn (storage_type, value) into a candidate checker, or None if undecidable ---


def _prepare(storage_type: str, value: str) -> Callable[[str], bool] | None:
    """Validate a stored secret once and return a function that tests one candidate."""
    stored = value.strip()
    if storage_type == "0":
        return _prepare_clear(stored)
    if storage_type == "7":
        decoded = decode_type7(stored)
        return None if decoded is None else _equals(decoded)
    if storage_type == "crypt" or (storage_type == "5" and stored.startswith(("$5$", "$6$"))):
        # Unix crypt(3): /etc/shadow, and NX-OS `password 5 $5$...` (sha256-crypt).
        from smmcheck.unixcrypt import prepare

        return prepare(stored)
    if storage_type == "5":
        return _prepare_md5crypt(stored)
    if storage_type == "4":
        return _prepare_type4(stored)
    if storage_type == "8":
        return _prepare_salted_sha256_kdf(stored, "8", _pbkdf2_type8)
    if storage_type == "9":
        return _prepare_salted_sha256_kdf(stored, "9", _scrypt_type9)
    return None


def _prepare_clear(stored: str) -> Callable[[str], bool] | None:
    # Sanitised exports replace secrets with placeholders ("<removed>" from IOS show tech,
    # "*****" from ASA and others). Comparing a guess against a placeholder would report a
    # confident "no match" about a password we never saw.
    if not stored or _looks_redacted(stored):
        return None
    return _equals(stored)


def _looks_redacted(text: str) -> bool:
    if text.startswith("<") and text.endswith(">"):
        return True
    return set(text) == {"*"}


def _equals(secret: str) -> Callable[[str], bool]:
    expected = secret.encode("utf-8")

    def check(candidate: str) -> bool:
        # Timing is not a threat for offline config checks; compare_digest just avoids having
        # two comparison styles in one module.
        return hmac.compare_digest(candidate.encode("utf-8"), expected)

    return check


def _prepare_md5crypt(stored: str) -> Callable[[str], bool] | None:
    parts = stored.split("$")
    # "$1$salt$hash".split("$") -> ["", "1", salt, hash]
    if len(parts) != 4 or parts[0] != "" or parts[1] != "1":
        return None
    salt, digest = parts[2], parts[3]
    if len(salt) > _MD5CRYPT_MAX_SALT or not set(salt) <= _CRYPT64_SET:
        return None
    # The final character encodes only the top 2 bits of the last byte; any other value
    # cannot come out of md5-crypt, so the string is damaged or hand-made.
    if not _is_crypt64(digest, _MD5CRYPT_HASH_LEN) or _CRYPT64.index(digest[-1]) >= 4:
        return None
    salt_bytes = salt.encode("ascii")
    expected = digest.encode("ascii")

    def check(candidate: str) -> bool:
        computed = _md5crypt_digest(candidate.encode("utf-8"), salt_bytes).encode("ascii")
        return hmac.compare_digest(computed, expected)

    return check


def _prepare_type4(stored: str) -> Callable[[str], bool] | None:
    if not _is_sha256_b64(stored):
        return None
    expected = stored.encode("ascii")

    def check(candidate: str) -> bool:
        digest = hashlib.sha256(candidate.encode("utf-8")).digest()
        return hmac.compare_digest(_cisco_b64(digest).encode("ascii"), expected)

    return check


def _prepare_salted_sha256_kdf(
    stored: str, marker: str, derive: Callable[[bytes, bytes], bytes]
) -> Callable[[str], bool] | None:
    parts = stored.split("$")
    # "$8$salt$hash".split("$") -> ["", "8", salt, hash]
    if len(parts) != 4 or parts[0] != "" or parts[1] != marker:
        return None
    salt, digest = parts[2], parts[3]
    if not 0 < len(salt) <= _MAX_SALT_LEN or not set(salt) <= _CRYPT64_SET:
        return None
    if not _is_sha256_b64(digest):
        return None
    # Cisco feeds the salt's printable characters to the KDF as-is; it is not base64-decoded.
    salt_bytes = salt.encode("ascii")
    expected = digest.encode("ascii")

    def check(candidate: str) -> bool:
        derived = derive(candidate.encode("utf-8"), salt_bytes)
        return hmac.compare_digest(_cisco_b64(derived).encode("ascii"), expected)

    return check


def _is_crypt64(text: str, length: int) -> bool:
    return len(text) == length and set(text) <= _CRYPT64_SET


def _is_sha256_b64(text: str) -> bool:
    # 43 characters hold 258 bits for 256 bits of digest; a real encoding leaves the
    # last 2 bits zero, so anything else is not something a device produced.
    return _is_crypt64(text, _SHA256_B64_LEN) and _CRYPT64.index(text[-1]) % 4 == 0


# --- algorithms ---


def _pbkdf2_type8(password: bytes, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password, salt, _TYPE8_ITERATIONS, _SHA256_LEN)


def _scrypt_type9(password: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(
        password, salt=salt, n=_TYPE9_N, r=_TYPE9_R, p=_TYPE9_P, dklen=_SHA256_LEN
    )


def _cisco_b64(data: bytes) -> str:
    """Encode bytes as Cisco types 4/8/9 do: big-endian base64, crypt alphabet, no padding."""
    # Each 3-byte group becomes four 6-bit symbols, most significant first (RFC 4648 bit
    # order; md5-crypt below uses the opposite order). A trailing 1- or 2-byte group yields
    # 2 or 3 symbols, zero-filled on the right.
    symbols: list[str] = []
    for start in range(0, len(data), 3):
        chunk = data[start : start + 3]
        group = int.from_bytes(chunk.ljust(3, b"\0"), "big")
        for shift in (18, 12, 6, 0)[: len(chunk) + 1]:
            symbols.append(_CRYPT64[(group >> shift) & 0x3F])
    return "".join(symbols)


def _md5crypt_digest(password: bytes, salt: bytes) -> str:
    """Return the 22-character hash part of md5-crypt ($1$) for `password` and `salt`.

    This is Poul-Henning Kamp's FreeBSD algorithm, which Cisco adopted unchanged for type 5.
    """
    magic = b"$1$"
    # usedforsecurity=False: we only reproduce a legacy format to audit it, and FIPS-mode
    # OpenSSL builds refuse plain md5() otherwise.
    alternate = hashlib.md5(password + salt + password, usedforsecurity=False).digest()

    context = hashlib.md5(password + magic + salt, usedforsecurity=False)
    # One alternate-digest byte per password byte, 16 at a time.
    remaining = len(password)
    while remaining > 0:
        context.update(alternate[: min(16, remaining)])
        remaining -= 16
    # The original C code walks the bits of the length and, by a long-standing quirk that is
    # now part of the format, adds a NUL for each set bit and the first password byte
    # (not a byte of the alternate digest) for each clear bit.
    length = len(password)
    while length:
        context.update(b"\0" if length & 1 else password[:1])
        length >>= 1
    digest = context.digest()

    # 1000 rounds whose inputs vary with the round number; they exist only to cost time.
    for round_number in range(_MD5CRYPT_ROUNDS):
        step = hashlib.md5(usedforsecurity=False)
        step.update(password if round_number & 1 else digest)
        if round_number % 3:
            step.update(salt)
        if round_number % 7:
            step.update(password)
        step.update(digest if round_number & 1 else password)
        digest = step.digest()

    # md5-crypt permutes the digest bytes into groups of three and writes each group least
    # significant 6 bits first; the last byte goes out on its own as two symbols.
    symbols: list[str] = []
    for first, second, third in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        group = (digest[first] << 16) | (digest[second] << 8) | digest[third]
        symbols.extend(_crypt64_le(group, 4))
    symbols.extend(_crypt64_le(digest[11], 2))
    return "".join(symbols)


def _crypt64_le(value: int, count: int) -> list[str]:
    symbols: list[str] = []
    for _ in range(count):
        symbols.append(_CRYPT64[value & 0x3F])
        value >>= 6
    return symbols
