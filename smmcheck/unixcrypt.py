"""Verify candidate passwords against Unix crypt(3) hashes (``/etc/shadow``, NX-OS ``$5$``).

The system's libcrypt (libxcrypt on Debian, present on every Linux host) knows every scheme
a gateway may use: md5-crypt ``$1$``, sha256-crypt ``$5$``, sha512-crypt ``$6$``, bcrypt
``$2b$`` and yescrypt ``$y$`` (Debian's default since 11). Python's own ``crypt`` module is
deprecated and gone in 3.13, so libcrypt is called through ctypes. Its ``crypt()`` returns a
static buffer: calls are serialised.

No password is ever tried against a device: a candidate is hashed here, with the stored
hash's own salt and parameters, and compared.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hmac
import threading
from collections.abc import Callable

_LOCK = threading.Lock()
# Prefixes of the schemes this module verifies; anything else is "cannot tell".
SCHEMES = ("$1$", "$5$", "$6$", "$2a$", "$2b$", "$2y$", "$y$", "$gy$", "$7$")


@functools.cache
def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypt")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    library.crypt.restype = ctypes.c_char_p
    return library


def available() -> bool:
    """Whether this machine's libcrypt can be used."""
    return _library() is not None


def prepare(stored: str) -> Callable[[str], bool] | None:
    """A checker for one stored crypt(3) hash, or None when it cannot be verified here.

    A locked account (``!``, ``*``, ``!$6$...``) accepts no password at all: every candidate
    is a definite no. An empty field is an account without a password: only "" matches.
    """
    if stored.startswith(("!", "*")):
        return lambda candidate: False
    if stored == "":
        return lambda candidate: candidate == ""
    if not stored.startswith(SCHEMES) or stored.count("$") < 3 or not _well_formed(stored):
        return None
    library = _library()
    if library is None:
        return None
    setting = stored.encode()

    def check(candidate: str) -> bool:
        with _LOCK:
            result = library.crypt(candidate.encode(), setting)
        # libxcrypt returns "*0"/"*1" (or NULL) for a setting it cannot use.
        return result is not None and hmac.compare_digest(result, setting)

    # A hash the library cannot parse (a redacted "$6$xxxx") makes every check fail the
    # same way: treat it as undecidable rather than as "no default matches".
    with _LOCK:
        probe = library.crypt(b"", setting)
    if probe is None or probe.startswith(b"*"):
        return None
    return check


# The digest's length per scheme: a published hash cut short by a copy or a redaction must
# be "cannot tell", not a confident "no default matches".
_DIGEST_LENGTH = {"1": 22, "5": 43, "6": 86, "y": 43, "gy": 43, "7": 43}


def _well_formed(stored: str) -> bool:
    scheme = stored.split("$")[1]
    if scheme in ("2a", "2b", "2y"):
        return len(stored) == 60
    expected = _DIGEST_LENGTH.get(scheme)
    return expected is None or len(stored.rsplit("$", 1)[1]) == expected
