"""Op counting: per-layer MACs, parameters and activation sizes of a PyTorch model.

MACs of a convolution: N = H_out·W_out·h·w·D_in·D_out/groups (bias and BatchNorm not counted; a
BatchNorm folds into the preceding conv at export). A Linear layer: N = in_features·out_features.
Custom layers that compute with functional ops report their own MACs through ``ef_macs(in_shape,
out_shape)`` and, if their tensors are not all parameters, their params through ``ef_params()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class LayerOps:
    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    macs: int
    params: int
    activation_elems: int  # elements of the output activation (batch 1)
    kernel: tuple[int, int] | None = None
    groups: int = 1


@dataclass
class OpReport:
    input_shape: tuple[int, ...]
    layers: list[LayerOps] = field(default_factory=list)
    total_params: int = 0  # every parameter of the model (BatchNorm included, as in torch)
    deploy_params: int = 0  # parameters left after folding BatchNorm: sum of the layers' params

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def peak_activation_elems(self) -> int:
        """Largest single activation (output of one counted layer, or the input)."""
        sizes = [int(torch.Size(self.input_shape).numel())] + [layer.activation_elems for layer in self.layers]
        return max(sizes)

    def table(self) -> str:
        rows = [f"{'layer':32} {'kind':18} {'output':>14} {'params':>9} {'MACs':>11}"]
        for layer in self.layers:
            shape = "x".join(str(s) for s in layer.output_shape)
            rows.append(f"{layer.name[:32]:32} {layer.kind[:18]:18} {shape:>14} {layer.params:9d} {layer.macs:11d}")
        rows.append(f"{'total':32} {'':18} {'':>14} {self.deploy_params:9d} {self.total_macs:11d}")
        return "\n".join(rows)


def conv_macs(conv: nn.Conv2d, out_shape: tuple[int, ...]) -> int:
    h_out, w_out = out_shape[-2:]
    kh, kw = conv.kernel_size
    return int(h_out * w_out * kh * kw * conv.in_channels * conv.out_channels // conv.groups)


def _params(m: nn.Module) -> int:
    own = getattr(m, "ef_params", None)
    if callable(own):
        return int(own())
    return int(sum(p.numel() for p in m.parameters(recurse=False)))


@torch.no_grad()
def count_ops(model: nn.Module, input_shape: tuple[int, ...]) -> OpReport:
    """Run one batch-1 forward pass of zeros through ``model`` (eval mode) and count per layer.

    Counted layers: Conv2d, Linear and modules with ``ef_macs``; shapes exclude the batch axis.
    """
    shape = tuple(int(s) for s in input_shape)
    report = OpReport(input_shape=shape)
    names = {m: n for n, m in model.named_modules()}
    hooks = []
    custom = [m for m in model.modules() if callable(getattr(m, "ef_macs", None))]

    def inside_custom(m: nn.Module) -> bool:
        return any(m is not c and any(m is s for s in c.modules()) for c in custom)

    def hook(m: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        in_shape = tuple(inputs[0].shape[1:])
        out_shape = tuple(output.shape[1:])
        kernel, groups = None, 1
        if callable(getattr(m, "ef_macs", None)):
            macs = int(m.ef_macs(in_shape, out_shape))
            kernel = (int(getattr(m, "kernel", 1)), int(getattr(m, "kernel", 1)))
        elif isinstance(m, nn.Conv2d):
            macs = conv_macs(m, out_shape)
            kernel = (int(m.kernel_size[0]), int(m.kernel_size[1]))
            groups = m.groups
        else:  # Linear
            macs = int(m.in_features * m.out_features * (int(output.numel()) // m.out_features))
        report.layers.append(
            LayerOps(
                name=names.get(m, type(m).__name__),
                kind=type(m).__name__,
                input_shape=in_shape,
                output_shape=out_shape,
                macs=macs,
                params=_params(m),
                activation_elems=int(output[0].numel()),
                kernel=kernel,
                groups=groups,
            )
        )

    for m in model.modules():
        counted = isinstance(m, nn.Conv2d | nn.Linear) or m in custom
        if counted and not inside_custom(m):
            hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros((1, *shape)))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    report.total_params = int(sum(p.numel() for p in model.parameters()))
    report.deploy_params = sum(layer.params for layer in report.layers)
    return report


def flop_counter_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs by torch's own FlopCounterMode (FLOPs / 2): an independent count to check ours against."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(torch.zeros((1, *input_shape)))
    finally:
        model.train(was_training)
    return int(fc.get_total_flops()) // 2
