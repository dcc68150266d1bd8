"""Where the tests find data outside the clone.

The only such data is the read-only ``shared/`` tree beside the clone (MLPerf Tiny reference
models); ``EDGEFACT_SHARED`` overrides its location (default: ``<repo>/../shared``).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("EDGEFACT_SHARED") or ROOT.parent / "shared")
MLPERF_DIR = SHARED_DIR / "models" / "mlperf-tiny"
