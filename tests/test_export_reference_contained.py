"""The reference interpreters run contained in a worker process: their crashes become errors.

- a model that makes TFLM abort (a SOFTMAX whose input scale fails TFLM's
  QuantizeMultiplierGreaterThanOne check) raises OracleCrashError naming TFLM and the signal, and
  the next call works again in a new worker;
- SIGSEGV and SIGABRT inside the worker, exceptions raised by the oracle keep their type;
- a deploy whose reference crashes still writes its firmware and its report, marked
  "bit-exactness not checked" with the reason.
"""

from __future__ import annotations

import ctypes
import json
import os

import flatbuffers
import numpy as np
import pytest
from opmodels import get_opmodel

from edgefact.errors import EdgefactError, MalformedModelError
from edgefact.export.reference import OracleCrashError, run_tflm
from edgefact.export.reference.contained import call


def _abort() -> None:
    os.abort()


def _segfault() -> None:
    ctypes.string_at(0)


def _raise() -> None:
    raise MalformedModelError("a clear message")


def _softmax_tiny_scale() -> bytes:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    data = get_opmodel("softmax")
    m = s.ModelT.InitFromPackedBuf(data, 0)
    g = m.subgraphs[0]
    g.tensors[g.operators[0].inputs[0]].quantization.scale = np.array([1e-10], np.float32)
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_tflm_abort_becomes_an_error_and_the_next_call_works() -> None:
    with pytest.raises(OracleCrashError, match=r"TFLM reference interpreter crashed \(signal SIGABRT\)"):
        run_tflm(_softmax_tiny_scale(), np.zeros((2, 10), np.int8))
    out = run_tflm(get_opmodel("softmax"), np.zeros((2, 10), np.int8))
    assert out[0].shape == (2, 10)


def test_signals_and_exceptions_in_the_worker() -> None:
    with pytest.raises(OracleCrashError, match="SIGSEGV"):
        call("LiteRT", _segfault)
    with pytest.raises(OracleCrashError, match="SIGABRT"):
        call("TFLM", _abort)
    with pytest.raises(MalformedModelError, match="a clear message"):
        call("TFLM", _raise)
    assert call("TFLM", sum, [1, 2, 3]) == 6


def test_deploy_with_a_crashing_reference_reports_not_checked(tmp_path, monkeypatch) -> None:
    import edgefact.pipeline.deploy as deploy

    path = tmp_path / "fc.tflite"
    path.write_bytes(get_opmodel("fc_bias"))

    def crash(*args, **kwargs):
        raise OracleCrashError("TFLM", "signal SIGFPE", "operator 0 (FULLY_CONNECTED)", "")

    monkeypatch.setattr(deploy, "compare_with_tflm", crash)
    with pytest.warns(UserWarning, match="bit-exactness not checked"):
        rep = deploy.deploy_tflite(path, "host", tmp_path / "out", n_random=2)
    be = rep["bitexact"]
    assert be["checked"] is False and be["equal"] is None and "SIGFPE" in be["reason"]
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["bitexact"]["checked"] is False
    md = (tmp_path / "out" / "report.md").read_text()
    assert "not checked: the TFLM reference interpreter crashed (signal SIGFPE)" in md
    assert rep["totals"]["count"] and rep["totals"]["count"] > 0  # it ran


def test_oracle_inproc_switch(monkeypatch) -> None:
    monkeypatch.setenv("EDGEFACT_ORACLE_INPROC", "1")
    assert call("TFLM", os.getpid) == os.getpid()
    monkeypatch.delenv("EDGEFACT_ORACLE_INPROC")
    assert call("TFLM", os.getpid) != os.getpid()
    with pytest.raises(EdgefactError):
        call("TFLM", _raise)
