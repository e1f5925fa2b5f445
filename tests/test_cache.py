"""Facts are cached by content: unchanged configs are never parsed twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import smmcheck.runner
from smmcheck.cache import cache_dir
from smmcheck.mapping import load_mappings
from smmcheck.policies import load_policies
from smmcheck.runner import CheckOptions, run_check

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def _options(**extra: object) -> CheckOptions:
    policies = load_policies()
    return CheckOptions(policies=policies, mappings=load_mappings(policies), **extra)  # type: ignore[arg-type]


def test_second_run_reads_cached_facts_and_gives_identical_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(DEMO / "acc-sw01.cfg", tmp_path / "acc-sw01.cfg")
    first = run_check([tmp_path], _options())
    parsed: list[str] = []
    real = smmcheck.runner.parse_config

    def counting(text: str, **kwargs: object) -> object:
        parsed.append(str(kwargs["source"]))
        return real(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(smmcheck.runner, "parse_config", counting)
    second = run_check([tmp_path], _options())
    assert parsed == []
    assert first.results == second.results
    (tmp_path / "acc-sw01.cfg").write_text((DEMO / "acc-sw01.cfg").read_text() + "!\n")
    run_check([tmp_path], _options())
    assert parsed == [str(tmp_path / "acc-sw01.cfg")]


def test_corrupt_cache_entry_is_a_miss(tmp_path: Path) -> None:
    shutil.copy(DEMO / "ot-sw01.cfg", tmp_path / "ot-sw01.cfg")
    first = run_check([tmp_path], _options())
    for entry in (cache_dir() / "facts").rglob("*.json"):
        entry.write_text("{not json")
    assert run_check([tmp_path], _options()).results == first.results


def test_secret_memo_never_stores_a_recovered_password(tmp_path: Path) -> None:
    shutil.copy(DEMO / "acc-sw01.cfg", tmp_path / "acc-sw01.cfg")
    run_check([tmp_path], _options())
    for path in cache_dir().rglob("*"):
        if path.is_file():
            assert b"cisco" not in path.read_bytes().lower().replace(b"cisco_ios", b"")


def test_a_changed_parser_never_serves_facts_cached_by_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smmcheck import cache

    facts_cache = cache.FactsCache(tmp_path, "0.9.18")
    before = facts_cache.key("hostname sw1\n", source="sw1.cfg", platform=None)
    monkeypatch.setattr(cache, "_code_digest", lambda: "a different parser")
    after = facts_cache.key("hostname sw1\n", source="sw1.cfg", platform=None)
    assert before != after
