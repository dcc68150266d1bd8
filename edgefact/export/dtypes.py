"""Tensor element types of the generated code: one table, TFLite type name -> C type, numpy type,
byte size.

The lowering (which types may be activations), the memory planner (bytes per tensor, through
:attr:`~edgefact.export.ir.TensorInfo.nbytes`), the C generator (pointer and typedef types), the
firmware application (embedded inputs, output buffers) and the host check (the batch files) all
read this table instead of keeping maps of their own, so a new type is one row here.

Which operator may read or write which type is the operator's business (its registry entry):
int8 everywhere, float32 at the model boundary and around QUANTIZE / DEQUANTIZE, uint8 and int16
at QUANTIZE / DEQUANTIZE, int32 / int64 as ARG_MAX / ARG_MIN indices, int16 / int32 as state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefact.errors import UnsupportedOpError


@dataclass(frozen=True)
class DType:
    """One tensor element type of the generated code."""

    name: str  # TFLite TensorType name ("INT8")
    ctype: str  # C type of an element ("int8_t")
    numpy: type[np.generic]
    size: int  # bytes per element

    @property
    def is_float(self) -> bool:
        return self.name.startswith("FLOAT")

    @property
    def lower(self) -> str:
        """The report's spelling ("int8", "uint8", "float32")."""
        return self.name.lower()


DTYPES: dict[str, DType] = {d.name: d for d in (
    DType("INT8", "int8_t", np.int8, 1),
    DType("UINT8", "uint8_t", np.uint8, 1),
    DType("INT16", "int16_t", np.int16, 2),
    DType("INT32", "int32_t", np.int32, 4),
    DType("INT64", "int64_t", np.int64, 8),
    DType("FLOAT32", "float", np.float32, 4),
)}

#: types every operator takes (the others only where an entry says so, see ``OpDef.tensor_types``)
COMMON_TYPES = ("INT8", "FLOAT32")

#: what to tell a user whose model has a tensor of a type outside the table (FLOAT16, INT4 ...)
TYPE_FIX = ("edgefact generates int8 activations (float32, uint8 and int16 at QUANTIZE/DEQUANTIZE, int32/int64 "
            "ARG_MAX/ARG_MIN indices); convert with full-integer int8 quantization "
            "(TFLiteConverter: optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset, "
            "supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8], inference_input_type tf.int8 or tf.uint8)")


def dtype(type_name: str) -> DType:
    """The row of ``type_name``; UnsupportedOpError (listing the supported types) for others."""
    d = DTYPES.get(type_name)
    if d is None:
        raise UnsupportedOpError(f"tensor type {type_name} is not supported ({', '.join(DTYPES)} are)")
    return d


def np_dtype(type_name: str) -> type[np.generic]:
    """The numpy type of ``type_name`` (a row of :data:`DTYPES`)."""
    return dtype(type_name).numpy
