"""Which listener addresses only this host can reach (shared by every gateway parser)."""

from __future__ import annotations

import pytest

from smmcheck.parse.addresses import is_loopback


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),  # nginx `listen [::1]:443`, lighttpd `$SERVER["socket"] == "[::1]:443"`
        ("::ffff:127.0.0.1", True),
        ("fe80::1%lo", True),
        ("0.0.0.0", False),
        ("*", False),
        ("[::]", False),
        ("10.0.0.5", False),
        ("gw.example.net", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(host: str | None, local: bool) -> None:
    assert is_loopback(host) is local
