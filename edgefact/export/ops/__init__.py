"""The operator registry: one entry per supported TFLite operator, a module per family.

Everything that needs to know about operators reads this package: the lowering
(:mod:`edgefact.export.lowering`), the C generator, the memory planner (scratch sizes), the
reports (MACs, kernel names) and the tests. Adding an operator = one entry in a family module
(or a new module imported below), its kernel in ``edgefact/firmware/kernels`` and its tests;
see "How to add an operator" in docs/architecture.md.
"""

from edgefact.export.ops import (  # noqa: F401  (importing a family module registers its entries)
    argmax,
    binary,
    conv,
    elementwise,
    fully_connected,
    lstm,
    matmul,
    movement,
    normalize,
    pooling,
    quantize,
    resize,
    slicing,
    softmax,
    state,
    svdf,
    tconv,
    unary,
)
from edgefact.export.ops.base import CStruct, Dims, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import all_ops, get_op, supported_ops

__all__ = ["CStruct", "Dims", "Emission", "EmitContext", "LowerContext", "OpDef", "all_ops", "get_op",
           "supported_ops"]
