"""Replay every crashing input the fuzzers found (``tests/data/fuzz/<target>/*.bin``).

A case whose defect is not fixed yet has a ``.open`` file beside it naming the owner; it is an
expected failure (strict: once fixed, the marker must go)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_harness import CORPUS_DIR, TARGETS, corpus, replay

CASES = [pytest.param(target, path, id=f"{target}/{path.stem}",
                      marks=[pytest.mark.xfail(strict=True, reason=path.with_suffix(".open").read_text().strip())]
                      if path.with_suffix(".open").exists() else [])
         for target in TARGETS for path in corpus(target)]


#: A replay longer than this is a hang (the generator cases take well under a second).
REPLAY_SECONDS = 10


class ReplayTimeout(Exception):
    pass


@pytest.fixture
def time_limit() -> Iterator[None]:
    def expire(_sig: int, _frame: Any) -> None:
        raise ReplayTimeout(f"replay ran past {REPLAY_SECONDS} s (a hang)")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(REPLAY_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("target, path", CASES)
def test_fuzz_case_replays_cleanly(target: str, path: Path, time_limit: None) -> None:
    replay(target, path)


def test_corpus_has_cases() -> None:
    assert CORPUS_DIR.is_dir() and CASES, "the fuzz corpus under tests/data/fuzz/ is missing"
