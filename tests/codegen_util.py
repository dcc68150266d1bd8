"""Helpers shared by the codegen tests: model paths and a model mutator for error cases."""

from __future__ import annotations

from pathlib import Path

MLPERF_DIR = Path("/work/shared/models/mlperf-tiny")
MLPERF = {p.stem.replace("_int8", ""): p for p in sorted(MLPERF_DIR.glob("*.tflite"))}


def replace_op(model_bytes: bytes, op_index: int, new_op: str) -> bytes:
    """Return a copy of the model where operator ``op_index`` uses builtin ``new_op`` instead.

    Goes through the flatbuffer object API (unpack, edit, pack), so the result is a well-formed
    .tflite that only differs in that operator's code.
    """
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.ModelT.InitFromPackedBuf(model_bytes, 0)
    code = getattr(s.BuiltinOperator, new_op)
    op = m.subgraphs[0].operators[op_index]
    new_code = s.OperatorCodeT()
    new_code.builtinCode = code
    new_code.deprecatedBuiltinCode = min(code, 127)
    new_code.version = 1
    m.operatorCodes.append(new_code)
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.builtinOptionsType = 0
    op.builtinOptions = None
    b = flatbuffers.Builder(len(model_bytes) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
