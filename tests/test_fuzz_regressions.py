"""Replay every crashing input the fuzzers found (``tests/data/fuzz/<target>/*.bin``).

A case whose defect is not fixed yet has a ``.open`` file beside it naming the owner; it is an
expected failure (strict: once fixed, the marker must go)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_harness import CORPUS_DIR, TARGETS, corpus, replay

CASES = [pytest.param(target, path, id=f"{target}/{path.stem}",
                      marks=[pytest.mark.xfail(strict=True, reason=path.with_suffix(".open").read_text().strip())]
                      if path.with_suffix(".open").exists() else [])
         for target in TARGETS for path in corpus(target)]


@pytest.mark.parametrize("target, path", CASES)
def test_fuzz_case_replays_cleanly(target: str, path: Path) -> None:
    replay(target, path)


def test_corpus_has_cases() -> None:
    assert CORPUS_DIR.is_dir() and CASES, "the fuzz corpus under tests/data/fuzz/ is missing"
