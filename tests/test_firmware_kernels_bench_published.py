"""scripts/bench_published: the published MLPerf Tiny table is parsed from the models' README,
rows are matched to registry boards by core and clock, and instruction counts become latency
estimates at the published clock (no emulator run: counts come from a bench_mlperf JSON)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from script_module import load_script
from shared_paths import MLPERF_DIR

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_published"
README = MLPERF_DIR / "README.md"


def _module():  # noqa: ANN202
    return load_script("bench_published")


@pytest.mark.skipif(not README.is_file(), reason="shared MLPerf Tiny models not present")
def test_parse_published_table_and_board_match() -> None:
    mod = _module()
    models, rows = mod.parse_published(README)
    assert models == ["ic_resnet8", "kws_dscnn", "ad_fc_autoencoder"]
    assert len(rows) == 4
    tflm = rows[0]
    assert (tflm["core"], tflm["clock_hz"]) == ("cortex-m4", 120_000_000)
    assert tflm["ms"] == {"ic_resnet8": 704.0, "kws_dscnn": 182.0, "ad_fc_autoencoder": 10.1}
    assert "CMSIS-NN" in tflm["stack"]
    assert mod.registry_board("cortex-m4", 120_000_000) == "nucleo-l4r5zi"
    assert mod.registry_board("cortex-m7", 216_000_000) == "stm32f746g-disco"
    assert mod.registry_board("cortex-m7", 280_000_000) is None


def test_parse_rejects_a_readme_without_the_table(tmp_path: Path) -> None:
    from edgefact.errors import EdgefactError

    bad = tmp_path / "README.md"
    bad.write_text("# nothing here\n")
    with pytest.raises(EdgefactError, match="no published latency table"):
        _module().parse_published(bad)


@pytest.mark.skipif(not README.is_file(), reason="shared MLPerf Tiny models not present")
def test_estimates_from_bench_json(tmp_path: Path) -> None:
    counts = {"ic_resnet8": 24_000_000, "kws_dscnn": 6_000_000, "ad_fc_autoencoder": 600_000}
    rows = [{"model": m, "core": c, "instructions": n * (2 if c == "cortex-m7" else 1)}
            for m, n in counts.items() for c in ("cortex-m4", "cortex-m7")]
    src, out = tmp_path / "bench.json", tmp_path / "out.json"
    src.write_text(json.dumps(rows))
    r = subprocess.run([sys.executable, str(SCRIPT), "--from-json", str(src), "--json", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ESTIMATE" in r.stdout
    got = json.loads(out.read_text())
    first = got[0]
    assert first["model"] == "ic_resnet8" and first["registry_board"] == "nucleo-l4r5zi"
    assert first["edgefact_est_ms"] == pytest.approx(24_000_000 / 120e6 * 1e3)
    assert first["published_over_est"] == pytest.approx(704 / 200.0)
    h7 = [g for g in got if g["clock_mhz"] == 280 and g["model"] == "kws_dscnn"][0]
    assert h7["registry_board"] is None and h7["edgefact_est_ms"] == pytest.approx(12_000_000 / 280e6 * 1e3)
    # a JSON without the cores of the published rows is refused with the command that fixes it
    src.write_text(json.dumps([r for r in rows if r["core"] == "cortex-m4"]))
    r = subprocess.run([sys.executable, str(SCRIPT), "--from-json", str(src)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "--cores cortex-m4,cortex-m7" in r.stderr
