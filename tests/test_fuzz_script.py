"""scripts/fuzz: a tiny run of each target ends with its counts, and bad options are refused."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fuzz"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("target", ["reader", "logproto"])
def test_short_run_reports_counts(target: str, tmp_path: Path) -> None:
    r = _run("--minutes", "0.01", "--target", target, "--round", "20", "--corpus", str(tmp_path), "--seeds")
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(rf"fuzz {target}: (\d+) examples in (\d+) rounds", r.stdout)
    assert m and int(m.group(1)) == 20 * int(m.group(2)) >= 20, r.stdout
    assert "0 failed at 0 distinct sites" in r.stdout
    assert not any(tmp_path.iterdir())


def test_bad_budget_refused() -> None:
    r = _run("--minutes", "0", "--target", "reader")
    assert r.returncode == 2 and "--minutes" in r.stderr
