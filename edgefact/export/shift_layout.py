"""Channel order of shift layers: group the channels of a shift layer by their shift.

A hardened shift layer (a DEPTHWISE_CONV_2D with one non-zero tap per kernel, run by
``ef_shift_s8``, :mod:`edgefact.export.ops.shift`) shifts each channel by its own (dy, dx). In the
converter's channel order the shifts are interleaved, so every channel of a pixel reads another
input pixel. When the channels with one shift are neighbours, each shift is one rectangle copy
of a run of channels, which the kernel moves several bytes at a time.

:func:`group_shift_channels` rewrites the model (before lowering) so that they are: it
permutes the shift layer's channels (its filter, bias and per-channel scales) and, so that the
graph computes the same outputs, the output channels of the convolution that produces its input
(filter rows, bias, scales; any channel-wise operators in between, such as a MAX_POOL_2D, keep
working on the permuted channels) and the input channels of the convolution that reads its
output (the filter's last axis). Each output channel of a convolution is computed on its own and
the int32 sum over input channels does not depend on their order, so the generated code stays
bit-exact with TFLite run on the original model. A shift layer is left as it is when any tensor
on the way has another reader, is a model input or output, or the neighbours are not plain
convolutions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel

#: operators that work on each channel alone with per-tensor parameters: a permutation of their
#: input's channels is the same permutation of their output's
CHANNELWISE = frozenset({"MAX_POOL_2D", "AVERAGE_POOL_2D", "RELU", "RELU6", "RELU_N1_TO_1"})


def shift_order(filt: np.ndarray, bias: np.ndarray | None, scales: np.ndarray | None) -> np.ndarray | None:
    """The channel order that groups a shift layer's channels by tap (and, within a tap, by weight,
    bias and scale, so channels with one look-up table are neighbours), or None when ``filt`` is
    not a shift (some kernel has two or more non-zero taps)."""
    _, kh, kw, c = filt.shape
    flat = filt.reshape(kh * kw, c)
    nonzero = flat != 0
    if np.any(nonzero.sum(axis=0) > 1):
        return None
    taps = np.where(nonzero.any(axis=0), nonzero.argmax(axis=0), -1)
    w = flat[np.maximum(taps, 0), np.arange(c)].astype(np.int64) * (taps >= 0)
    b = bias.astype(np.int64) if bias is not None else np.zeros(c, np.int64)
    s = scales.astype(np.float64) if scales is not None and len(scales) == c else np.zeros(c)
    return np.lexsort((np.arange(c), s, b, w, taps))  # last key first: tap, weight, bias, scale


class _Rewrite:
    def __init__(self, model: TFLiteModel) -> None:
        self.model = model
        self.tensors = list(model.tensors)
        self.readers: dict[int, int] = {}  # tensor -> how many operator inputs read it
        self.producer: dict[int, int] = {}  # tensor -> operator index writing it
        for k, op in enumerate(model.operators):
            for t in op.inputs:
                if t >= 0:
                    self.readers[t] = self.readers.get(t, 0) + 1
            for t in op.outputs:
                self.producer[t] = k
        self.reader: dict[int, int] = {}  # tensor -> its one reading operator (when it has one)
        for k, op in enumerate(model.operators):
            for t in op.inputs:
                if t >= 0 and self.readers[t] == 1:
                    self.reader[t] = k
        self.boundary = set(model.inputs) | set(model.outputs)

    def _private(self, t: int) -> bool:
        """An activation tensor with exactly one reader, neither a model input nor output."""
        return t >= 0 and t not in self.boundary and self.readers.get(t, 0) == 1 and not self.tensors[t].is_variable

    def _const(self, op: Operator, pos: int) -> Tensor | None:
        """A constant operand of ``op`` that no other operand reads (so it may be rewritten)."""
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            return None
        t = self.tensors[op.inputs[pos]]
        return t if t.is_constant and self.readers.get(t.index, 0) == 1 else None

    def _conv(self, k: int) -> Operator | None:
        """Operator ``k`` when it is a CONV_2D with constant, rewritable filter (and bias) over all
        its input channels (not grouped)."""
        op = self.model.operators[k]
        if op.name != "CONV_2D" or len(op.inputs) < 2:
            return None
        f = self._const(op, 1)
        if f is None or f.data is None or f.data.ndim != 4:
            return None
        if f.data.shape[3] != self.tensors[op.inputs[0]].shape[-1]:
            return None
        if len(op.inputs) > 2 and op.inputs[2] >= 0 and self._const(op, 2) is None:
            return None
        return op

    def _producer_conv(self, t: int) -> Operator | None:
        """The convolution whose output channels become ``t``'s channels, through channel-wise
        operators only, every tensor on the way private."""
        while self._private(t) and t in self.producer:
            op = self.model.operators[self.producer[t]]
            if op.name in CHANNELWISE and len(op.outputs) == 1:
                t = op.inputs[0]
                continue
            return self._conv(self.producer[t]) if len(op.outputs) == 1 else None
        return None

    def _consumer_conv(self, t: int) -> Operator | None:
        """The convolution that reads ``t``'s channels as its input channels (through channel-wise
        operators only, every tensor on the way private)."""
        while self._private(t):
            op = self.model.operators[self.reader[t]]
            if op.inputs[0] != t:
                return None
            if op.name in CHANNELWISE and len(op.outputs) == 1:
                t = op.outputs[0]
                continue
            return self._conv(self.reader[t])
        return None

    def _permute(self, idx: int, order: np.ndarray, axis: int) -> None:
        t = self.tensors[idx]
        assert t.data is not None
        q = t.quantization
        if q is not None and q.per_channel and q.quantized_dimension == axis % t.data.ndim:
            q = dataclasses.replace(q, scales=q.scales[order], zero_points=q.zero_points[order])
        self.tensors[idx] = dataclasses.replace(t, data=np.take(t.data, order, axis=axis), quantization=q)

    def shift(self, op: Operator) -> bool:
        """Group the channels of shift layer ``op`` if it and its neighbours allow; True if done."""
        filt, bias = self._const(op, 1), self._const(op, 2)
        if filt is None or filt.data is None or filt.data.ndim != 4 or filt.data.shape[0] != 1:
            return False
        if len(op.inputs) > 2 and op.inputs[2] >= 0 and bias is None:
            return False
        c = filt.data.shape[3]
        if self.tensors[op.inputs[0]].shape[-1] != c:  # depth multiplier 1 only
            return False
        scales = filt.quantization.scales if filt.quantization is not None else None
        order = shift_order(filt.data, bias.data if bias is not None else None, scales)
        if order is None or np.array_equal(order, np.arange(c)):
            return False
        before, after = self._producer_conv(op.inputs[0]), self._consumer_conv(op.outputs[0])
        if before is None or after is None or before is after:
            return False
        self._permute(filt.index, order, 3)
        if bias is not None:
            self._permute(bias.index, order, 0)
        self._permute(before.inputs[1], order, 0)
        if len(before.inputs) > 2 and before.inputs[2] >= 0:
            self._permute(before.inputs[2], order, 0)
        self._permute(after.inputs[1], order, 3)
        return True


def group_shift_channels(model: TFLiteModel) -> tuple[TFLiteModel, list[int]]:
    """The model with the channels of each shift layer ordered by shift (see the module
    docstring), and the operator indices of the shift layers so reordered."""
    rw = _Rewrite(model)
    done = [op.index for op in model.operators if op.name == "DEPTHWISE_CONV_2D" and rw.shift(op)]
    if not done:
        return model, []
    return dataclasses.replace(model, tensors=rw.tensors), done
