"""Building blocks of the model zoo (factorized convolution blocks with BatchNorm and activation),
built only from ops that reach int8 TFLite as plain CONV_2D / DEPTHWISE_CONV_2D / ADD /
CONCATENATION / pooling / MEAN. The drop-in replacements of one trained conv that factorization
puts into a model are :mod:`edgefact.models.factorized`.

Notation for the cost formulas: input D_in×H×W, output D_out×H'×W', kernel h×w, groups g.
A standard convolution costs MACs = H'·W'·h·w·D_in·D_out/g and params = h·w·D_in·D_out/g (+D_out
bias). BatchNorm layers fold into the preceding convolution at export and are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def pair(v: int | Sequence[int]) -> tuple[int, int]:
    """(h, w) of a kernel/stride/padding given as one int or two (tuple or list, as in checkpoints)."""
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def activation(kind: str | None) -> nn.Module:
    if kind is None or kind == "none":
        return nn.Identity()
    if kind == "relu":
        return nn.ReLU(inplace=False)
    if kind == "relu6":
        return nn.ReLU6(inplace=False)
    raise ValueError(f"unknown activation {kind!r}: use relu, relu6 or none")


class ConvBNAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> activation. MACs = H'W'·h·w·D_in·D_out/g."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        groups: int = 1,
        act: str | None = "relu",
        padding: int | tuple[int, int] | None = None,
    ) -> None:
        k = pair(kernel)
        pad = (k[0] // 2, k[1] // 2) if padding is None else pair(padding)
        super().__init__(
            nn.Conv2d(in_ch, out_ch, k, stride=stride, padding=pad, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            activation(act),
        )


class GlobalMean(nn.Module):
    """Global average pool straight to (N, C): exports as ReduceMean -> TFLite MEAN, no reshape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class DepthwiseSeparable(nn.Module):
    """Depthwise h×w conv (groups = D_in, depth multiplier m) then pointwise 1×1.

    MACs = H'W'·h·w·D_in·m + H'W'·D_in·m·D_out;  params = h·w·D_in·m + D_in·m·D_out.
    Ratio to a standard conv: 1/D_out + 1/(h·w) for m = 1.
    """

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, multiplier: int = 1, act: str = "relu"
    ) -> None:
        super().__init__()
        mid = in_ch * multiplier
        self.depthwise = ConvBNAct(in_ch, mid, kernel, stride, groups=in_ch, act=act)
        self.pointwise = ConvBNAct(mid, out_ch, 1, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ChannelShuffle(nn.Module):
    """ShuffleNet channel shuffle (g groups of n channels: channel a·n+b -> b·g+a).

    Implemented as a fixed 1×1 convolution with a one-hot permutation matrix, so that it exports
    to a single CONV_2D instead of Reshape/Transpose/Reshape (which becomes TFLite TRANSPOSE).
    Cost: MACs = H·W·C², params 0 (the matrix is a buffer). Exact in float; in int8 it is a
    requantization (scale change) at most. Where the next layer is a dense conv the shuffle is
    redundant and should be left out.
    """

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"channel shuffle: {channels} channels not divisible by {groups} groups")
        n = channels // groups
        perm = torch.arange(channels).view(groups, n).t().reshape(-1)  # output p takes input perm[p]
        weight = torch.zeros(channels, channels, 1, 1)
        weight[torch.arange(channels), perm, 0, 0] = 1.0
        self.groups = groups
        self.register_buffer("weight", weight)
        self.register_buffer("perm", perm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight)

    def ef_macs(self, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
        c, h, w = out_shape[-3:]
        return int(h * w * c * in_shape[-3])


class GroupedConv(nn.Module):
    """Grouped h×w conv (groups = g) + BN + activation, optionally followed by a channel shuffle.

    MACs = H'W'·h·w·D_in·D_out/g (+ H'W'·D_out² for the shuffle); params = h·w·D_in·D_out/g.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        stride: int = 1,
        groups: int = 2,
        shuffle: bool = False,
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.conv = ConvBNAct(in_ch, out_ch, kernel, stride, groups=groups, act=act)
        self.shuffle = ChannelShuffle(out_ch, groups) if shuffle else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class SpatialSeparable(nn.Module):
    """k×1 conv (D_in -> mid) then 1×k conv (mid -> D_out), each with BN (+ activation after the second).

    MACs = H''·W·k·D_in·mid + H'·W'·k·mid·D_out (H'' = rows after the vertical stride);
    params = k·D_in·mid + k·mid·D_out, versus k²·D_in·D_out for the k×k conv.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, mid: int | None = None, stride: int = 1, act: str = "relu") -> None:
        super().__init__()
        mid = mid or max(1, (in_ch + out_ch) // 2)
        self.vertical = ConvBNAct(in_ch, mid, (kernel, 1), (stride, 1), act=None)
        self.horizontal = ConvBNAct(mid, out_ch, (1, kernel), (1, stride), act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.horizontal(self.vertical(x))


class Fire(nn.Module):
    """SqueezeNet Fire module: squeeze 1×1 (D_in -> s), then expand 1×1 (s -> e1) and 3×3 (s -> e3),
    concatenated along channels (D_out = e1 + e3).

    MACs = H·W·(D_in·s + s·e1 + 9·s·e3); params = D_in·s + s·e1 + 9·s·e3.
    """

    def __init__(self, in_ch: int, squeeze: int, expand1: int, expand3: int) -> None:
        super().__init__()
        self.squeeze = ConvBNAct(in_ch, squeeze, 1)
        self.expand1 = ConvBNAct(squeeze, expand1, 1)
        self.expand3 = ConvBNAct(squeeze, expand3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand1(s), self.expand3(s)], dim=1)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand 1×1 (D_in -> t·D_in, ReLU6), depthwise 3×3 (ReLU6), linear 1×1
    bottleneck (-> D_out); identity shortcut when stride = 1 and D_in = D_out.

    MACs = H·W·D_in·tD_in + H'W'·9·tD_in + H'W'·tD_in·D_out (first term absent for t = 1).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 6) -> None:
        super().__init__()
        hidden = in_ch * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(in_ch, hidden, 1, act="relu6"))
        layers.append(ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act="relu6"))
        layers.append(ConvBNAct(hidden, out_ch, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class ResNeXtBlock(nn.Module):
    """ResNeXt bottleneck: 1×1 (D_in -> d), grouped 3×3 (d -> d, groups = cardinality), 1×1 (d -> D_out),
    plus a shortcut (1×1 strided conv when the shape changes), ReLU after the addition.

    MACs = H·W·D_in·d + H'W'·9·d²/cardinality + H'W'·d·D_out (+ H'W'·D_in·D_out for a projection).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, cardinality: int = 4, width: int | None = None) -> None:
        super().__init__()
        d = width or max(cardinality, (out_ch // 2) // cardinality * cardinality)
        self.body = nn.Sequential(
            ConvBNAct(in_ch, d, 1),
            ConvBNAct(d, d, 3, stride, groups=cardinality),
            ConvBNAct(d, out_ch, 1, act=None),
        )
        self.shortcut = (
            nn.Identity() if stride == 1 and in_ch == out_ch else ConvBNAct(in_ch, out_ch, 1, stride, act=None)
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class BasicBlock(nn.Module):
    """ResNet basic block: 3×3 -> BN -> ReLU -> 3×3 -> BN, + shortcut, ReLU (ResNet-8 of MLPerf Tiny)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBNAct(in_ch, out_ch, 3, stride), ConvBNAct(out_ch, out_ch, 3, act=None))
        self.shortcut = (
            nn.Identity() if stride == 1 and in_ch == out_ch else ConvBNAct(in_ch, out_ch, 1, stride, act=None)
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ShiftConv(nn.Module):
    """Learned shift: the Shift Attention Layer (SAL) of Hacene et al. 2019 (arXiv:1905.12300).

    Each channel has a depthwise h×w kernel ``weight`` multiplied by an attention over its h·w
    positions, softmax(logits / T). Training anneals T towards 0 (``ef_train_progress``), pushing
    the attention to one-hot. ``harden()`` then replaces the kernel by its ``keep`` strongest
    positions: with ``keep = 1`` (SAL) the kernel is one-hot with value 1.0, i.e. an exact shift of
    the channel by (dy, dx) -- the scale is absorbed by the following 1×1 conv --; with ``keep = 2``
    (SAL2) two positions keep their learned weights.

    Hardened, the layer is a plain depthwise conv with a fixed kernel (exported as
    DEPTHWISE_CONV_2D with one-hot int8 kernels; later stages emit it as a zero-MAC shift).
    MACs counted as a depthwise conv: H'W'·h·w·C (the generated code needs 0 for SAL).
    Params after hardening: 0 (SAL, shifts only) or 2·C (SAL2).
    """

    def __init__(self, channels: int, kernel: int = 3, stride: int = 1, keep: int = 1, t_start: float = 1.0, t_end: float = 0.02) -> None:
        super().__init__()
        if keep not in (1, 2):
            raise ValueError("shift layer keeps 1 (SAL) or 2 (SAL2) positions per kernel")
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
        self.keep = keep
        self.t_start = t_start
        self.t_end = t_end
        self.logits = nn.Parameter(torch.randn(channels, kernel * kernel) * 0.01)
        # SAL trains only the attention; the shift magnitude is carried by the next 1x1 conv.
        self.weight = nn.Parameter(torch.ones(channels, kernel * kernel), requires_grad=keep == 2)
        self.register_buffer("temperature", torch.tensor(t_start))
        self.register_buffer("hardened", torch.tensor(False))
        self.register_buffer("hard_kernel", torch.zeros(channels, 1, kernel, kernel))

    def ef_train_progress(self, progress: float) -> None:
        """Geometric annealing of the softmax temperature from t_start to t_end as training goes 0 -> 1."""
        p = min(max(progress, 0.0), 1.0)
        self.temperature.fill_(self.t_start * (self.t_end / self.t_start) ** p)

    def soft_kernel(self) -> torch.Tensor:
        att = torch.softmax(self.logits / self.temperature, dim=1)
        return (att * self.weight).view(self.channels, 1, self.kernel, self.kernel)

    def kernel_tensor(self) -> torch.Tensor:
        return self.hard_kernel if bool(self.hardened) else self.soft_kernel()

    @torch.no_grad()
    def harden(self) -> None:
        top = torch.topk(self.logits, self.keep, dim=1).indices
        k = torch.zeros(self.channels, self.kernel * self.kernel, device=self.logits.device)
        if self.keep == 1:
            k.scatter_(1, top, 1.0)
        else:
            k.scatter_(1, top, self.weight.gather(1, top))
        self.hard_kernel.copy_(k.view_as(self.hard_kernel))
        self.hardened.fill_(True)

    def shifts(self) -> list[tuple[int, int]]:
        """(dy, dx) per channel of a hardened SAL layer: output[y, x] = input[y + dy, x + dx]."""
        if not bool(self.hardened) or self.keep != 1:
            raise ValueError("shifts exist only for a hardened single-position (SAL) layer")
        pos = self.hard_kernel.view(self.channels, -1).argmax(dim=1).tolist()
        c = self.kernel // 2
        return [(p // self.kernel - c, p % self.kernel - c) for p in pos]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel_tensor(), stride=self.stride, padding=self.kernel // 2, groups=self.channels)

    def ef_macs(self, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
        c, h, w = out_shape[-3:]
        return int(h * w * self.kernel * self.kernel * c)

    def ef_params(self) -> int:
        if bool(self.hardened):
            return 0 if self.keep == 1 else 2 * self.channels
        return int(self.logits.numel() + (self.weight.numel() if self.keep == 2 else 0))


def shift_channels(x: torch.Tensor, shifts: list[tuple[int, int]]) -> torch.Tensor:
    """Explicit zero-filled shift: out[c, y, x] = in[c, y + dy, x + dx] (0 outside the image)."""
    n, c, h, w = x.shape
    m = max(max(abs(dy), abs(dx)) for dy, dx in shifts) if shifts else 0
    padded = F.pad(x, (m, m, m, m))
    out = torch.empty_like(x)
    for ch, (dy, dx) in enumerate(shifts):
        out[:, ch] = padded[:, ch, m + dy : m + dy + h, m + dx : m + dx + w]
    return out


class ShiftBlock(nn.Module):
    """Shift (SAL/SAL2) then 1×1 conv + BN + ReLU: MACs = H'W'·D_in·D_out (+ the shift, 0 on target)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, kernel: int = 3, keep: int = 1) -> None:
        super().__init__()
        self.shift = ShiftConv(in_ch, kernel, stride, keep=keep)
        self.pointwise = ConvBNAct(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.shift(x))


def harden_shifts(model: nn.Module) -> int:
    """Harden every ShiftConv of a model; returns how many were hardened."""
    n = 0
    for m in model.modules():
        if isinstance(m, ShiftConv) and not bool(m.hardened):
            m.harden()
            n += 1
    return n
