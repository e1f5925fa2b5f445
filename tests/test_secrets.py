"""Specification of smmcheck.secrets: checking guesses against secrets stored in device configs.

Every algorithm is pinned to vectors that someone other than us published or produced, so a
test passing means "we compute what devices and standard tools compute", not merely "we agree
with ourselves". Sources are cited next to each vector.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smmcheck.secrets import decode_type7, is_recoverable, matching_candidate, verify_secret

# hashcat's example-hash table (https://hashcat.net/wiki/doku.php?id=example_hashes) states
# "Unless otherwise noted, the password for all example hashes is hashcat".
HASHCAT_PASSWORD = "hashcat"
# -m 500  md5crypt, MD5 (Unix), Cisco-IOS $1$ (MD5)
HASHCAT_TYPE5 = "$1$28772684$iEwNOgGugqO9.bIz5sk8k/"
# -m 5700 Cisco-IOS type 4 (SHA256)
HASHCAT_TYPE4 = "2btjjy78REtmYkkW0csHUbJZOstRXoWdX1mGrmmfeHI"
# -m 9200 Cisco-IOS $8$ (PBKDF2-SHA256)
HASHCAT_TYPE8 = "$8$TnGX/fE4KGHOVU$pEhnEvxrvaynpi8j4f.EMHr6M.FzU8xnZnBr/tJdFWk"
# -m 9300 Cisco-IOS $9$ (scrypt)
HASHCAT_TYPE9 = "$9$2MJBozw/9R3UsU$2lFhcKvpghcyw8deP25GOfyZaagyUOGBymkryvOdfo6"

# Placeholders that sanitised exports put where a secret was, and truncated or mangled
# copies of real hashes. None of them says anything about the password.
REDACTED = ["<removed>", "<REMOVED>", "*****", ""]

# The same key the module uses, spelled out here so the test encoder below is independent
# of the code under test. Published e.g. at
# http://www.binaria.co.uk/conclusivecreations/ciscot7.html
TYPE7_KEY = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def encode_type7(password: str, seed: int) -> str:
    """Encode as IOS does: two decimal seed digits, then each byte XOR key[seed + i] in hex."""
    body = "".join(
        f"{byte ^ TYPE7_KEY[(seed + i) % len(TYPE7_KEY)]:02X}"
        for i, byte in enumerate(password.encode("ascii"))
    )
    return f"{seed:02d}{body}"


# --- type 7 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "plain"),
    [
        # "0822455D0A16" -> "cisco": the Cairnarvon/type7 README and Gary Hoffman's
        # "Cisco Type 7 decryption" article (decrypted on a device via `show key chain`).
        ("0822455D0A16", "cisco"),
        # Cairnarvon/type7 README, `enseven cisco class` output.
        ("05080F1C2243", "cisco"),
        ("13061B13181F", "class"),
        # L0pht, "CISCO.TXT" by mudge (1997), sample values for the Pilot decryptor.
        ("08204E", "ab"),
        ("1513090F", "abc"),
        ("104F0B1A011214", "abcdef"),
    ],
)
def test_type7_decodes_published_vectors(encoded: str, plain: str) -> None:
    assert decode_type7(encoded) == plain


def test_type7_accepts_lowercase_hex_and_surrounding_whitespace() -> None:
    assert decode_type7("  0822455d0a16\n") == "cisco"


@pytest.mark.parametrize(
    "encoded",
    [
        "",  # nothing
        "08",  # a seed but no characters
        "0822455D0A1",  # odd number of hex digits
        "0822455D0A1G",  # not hex
        "08224 5D0A16",  # whitespace inside the token
        "AB22455D0A16",  # seed is not decimal
        "\uff10\uff1822455D0A16",  # seed in full-width digits: str.isdigit() would say yes
        "99224F",  # seed beyond the key
        "0840",  # decodes to 0x01, a control character: not a device password
        "<removed>",
    ],
)
def test_type7_malformed_input_decodes_to_none(encoded: str) -> None:
    assert decode_type7(encoded) is None


@given(
    password=st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=25
    ),
    seed=st.integers(min_value=0, max_value=15),
)
def test_type7_round_trips_any_printable_password(password: str, seed: int) -> None:
    # IOS picks a seed of 0-15 and accepts 1-25 printable characters.
    encoded = encode_type7(password, seed)
    assert decode_type7(encoded) == password
    assert verify_secret("7", encoded, password) is True


def test_type7_test_encoder_agrees_with_a_published_vector() -> None:
    # Guards the property test above: its encoder must reproduce real device output.
    assert encode_type7("cisco", 8) == "0822455D0A16"


def test_type7_verify_compares_the_decoded_password() -> None:
    assert verify_secret("7", "0822455D0A16", "cisco") is True
    assert verify_secret("7", "0822455D0A16", "Cisco") is False
    assert verify_secret("7", "0822455D0A16", "cisco ") is False


@pytest.mark.parametrize("value", [*REDACTED, "0822455D0A1", "0840"])
def test_type7_verify_is_undecidable_for_malformed_values(value: str) -> None:
    assert verify_secret("7", value, "cisco") is None


# --- type 0 -----------------------------------------------------------------------------


def test_type0_is_a_plain_case_sensitive_comparison() -> None:
    assert verify_secret("0", "cisco", "cisco") is True
    assert verify_secret("0", "cisco", "Cisco") is False
    assert verify_secret("0", "cisco", "") is False


@pytest.mark.parametrize("value", REDACTED)
def test_type0_redacted_values_are_undecidable(value: str) -> None:
    assert verify_secret("0", value, "cisco") is None


def test_type0_and_type7_are_recoverable_other_types_are_not() -> None:
    assert is_recoverable("0")
    assert is_recoverable("7")
    for storage_type in ["4", "5", "6", "8", "9", "", "07"]:
        assert not is_recoverable(storage_type)


# --- type 5 (md5-crypt) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "password"),
    [
        (HASHCAT_TYPE5, HASHCAT_PASSWORD),
        # Generated with `openssl passwd -1 -salt SALT PASSWORD` (OpenSSL 3.0.19). Chosen to
        # cover a Cisco-style 4-character salt, the empty password, a password longer than
        # one 16-byte digest, and a 1-character salt.
        ("$1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "cisco"),
        ("$1$4BrR$qOR8qb2OYY/cAjR78fhtg1", "Cisco123!"),
        ("$1$abcdefgh$M55TzYaaccxVGbptZWaxX/", ""),
        (
            "$1$saltsalt$mEysg729.LMAfuekGH8.y.",
            "this is a rather long password, well over sixteen bytes",
        ),
        ("$1$x$P8VObTrxaqT4VBmnH06P8.", "a"),
    ],
)
def test_type5_matches_published_and_openssl_vectors(value: str, password: str) -> None:
    assert verify_secret("5", value, password) is True


def test_type5_wrong_password_is_false() -> None:
    assert verify_secret("5", HASHCAT_TYPE5, "Hashcat") is False
    assert verify_secret("5", "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "cisco1") is False


@pytest.mark.parametrize(
    "value",
    [
        *REDACTED,
        HASHCAT_TYPE5[:-1],  # truncated
        HASHCAT_TYPE5 + "A",  # too long
        HASHCAT_TYPE5[:-1] + "z",  # last symbol carries bits md5-crypt never sets
        "$1$123456789$iEwNOgGugqO9.bIz5sk8k/",  # salt longer than md5-crypt's 8
        "$5$28772684$iEwNOgGugqO9.bIz5sk8k/",  # some other crypt scheme
        # A made-up "type 5 secret" from a certification practice question: not md5-crypt.
        "$1$b1JUSkZbBS1Pyh4OzwXyZ1kSZ2",
        "$1$xxxxSECRETxxxx",
    ],
)
def test_type5_malformed_or_redacted_is_undecidable(value: str) -> None:
    assert verify_secret("5", value, HASHCAT_PASSWORD) is None


# --- type 4 (unsalted SHA-256) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "password"),
    [
        (HASHCAT_TYPE4, HASHCAT_PASSWORD),
        # From a real device, published by Steve Thomas when he reversed the format:
        # https://tobtu.com/cisco4tosha256.php
        ("LcV6aBcc/53FoCJjXQMd7rBUDEpeevrK8V5jQVoJEhU", "password"),
    ],
)
def test_type4_matches_published_vectors(value: str, password: str) -> None:
    assert verify_secret("4", value, password) is True


def test_type4_wrong_password_is_false() -> None:
    assert verify_secret("4", HASHCAT_TYPE4, "password") is False


@pytest.mark.parametrize(
    "value",
    [*REDACTED, HASHCAT_TYPE4[:-1], HASHCAT_TYPE4 + ".", HASHCAT_TYPE4[:-1] + "J"],
)
def test_type4_malformed_is_undecidable(value: str) -> None:
    assert verify_secret("4", value, HASHCAT_PASSWORD) is None


# --- type 8 (PBKDF2-HMAC-SHA256) --------------------------------------------------------


def test_type8_matches_hashcat_example() -> None:
    assert verify_secret("8", HASHCAT_TYPE8, HASHCAT_PASSWORD) is True


def test_type8_wrong_password_is_false() -> None:
    assert verify_secret("8", HASHCAT_TYPE8, "cisco") is False


@pytest.mark.parametrize(
    "value",
    [
        *REDACTED,
        "$8$xxxxSECRETxxxx",
        "$8$TnGX/fE4KGHOVU$",  # hash missing
        "$8$$pEhnEvxrvaynpi8j4f.EMHr6M.FzU8xnZnBr/tJdFWk",  # salt missing
        HASHCAT_TYPE8[:-1],  # truncated
        HASHCAT_TYPE8[:-1] + "l",  # last symbol carries bits a 32-byte digest never sets
        "$8$TnGX/fE4KG+OVU$pEhnEvxrvaynpi8j4f.EMHr6M.FzU8xnZnBr/tJdFWk",  # '+' not in alphabet
        HASHCAT_TYPE9,  # a type 9 hash filed under type 8
    ],
)
def test_type8_malformed_or_redacted_is_undecidable(value: str) -> None:
    assert verify_secret("8", value, HASHCAT_PASSWORD) is None


# --- type 9 (scrypt) --------------------------------------------------------------------


def test_type9_matches_hashcat_example() -> None:
    assert verify_secret("9", HASHCAT_TYPE9, HASHCAT_PASSWORD) is True


def test_type9_wrong_password_is_false() -> None:
    assert verify_secret("9", HASHCAT_TYPE9, "hashcat ") is False


@pytest.mark.parametrize(
    "value",
    [
        *REDACTED,
        "$9$xxxxSECRETxxxx",
        # Truncated type 9 secret as printed in a certification practice question.
        "$9$vFpMfBelbRVV8SseX/bDAxtuV",
        HASHCAT_TYPE9[:-1],
        HASHCAT_TYPE8,  # a type 8 hash filed under type 9
    ],
)
def test_type9_malformed_or_redacted_is_undecidable(value: str) -> None:
    assert verify_secret("9", value, HASHCAT_PASSWORD) is None


# --- types we cannot check --------------------------------------------------------------


@pytest.mark.parametrize("storage_type", ["6", "1", "", "09", "scrypt"])
def test_unknown_or_unreadable_storage_types_are_undecidable(storage_type: str) -> None:
    # Type 6 is AES with a device-local master key: reversible on the device, not for us.
    assert verify_secret(storage_type, HASHCAT_TYPE9, HASHCAT_PASSWORD) is None


# --- matching_candidate -----------------------------------------------------------------


class CountingCandidates:
    """An iterable that records how many candidates were drawn from it."""

    def __init__(self, candidates: list[str]) -> None:
        self._candidates = candidates
        self.drawn = 0

    def __iter__(self) -> Iterator[str]:
        for candidate in self._candidates:
            self.drawn += 1
            yield candidate


def test_matching_candidate_returns_the_first_match_and_stops() -> None:
    candidates = CountingCandidates(["cisco", "admin", HASHCAT_PASSWORD, "never-reached"])
    assert matching_candidate("9", HASHCAT_TYPE9, candidates) == (True, HASHCAT_PASSWORD)
    assert candidates.drawn == 3


def test_matching_candidate_reports_false_when_nothing_matches() -> None:
    assert matching_candidate("5", HASHCAT_TYPE5, ["cisco", "admin"]) == (False, None)
    assert matching_candidate("7", "0822455D0A16", []) == (False, None)


@pytest.mark.parametrize(
    ("storage_type", "value"),
    [("9", "$9$xxxxSECRETxxxx"), ("0", "<removed>"), ("6", HASHCAT_TYPE8)],
)
def test_matching_candidate_checks_the_secret_before_trying_candidates(
    storage_type: str, value: str
) -> None:
    candidates = CountingCandidates([HASHCAT_PASSWORD, "cisco"])
    assert matching_candidate(storage_type, value, candidates) == (None, None)
    assert candidates.drawn == 0


def test_matching_candidate_works_for_recoverable_types() -> None:
    assert matching_candidate("0", "private", ["public", "private"]) == (True, "private")
    assert matching_candidate("7", "13061B13181F", ["cisco", "class"]) == (True, "class")
