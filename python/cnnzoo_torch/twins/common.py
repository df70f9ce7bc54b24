"""Building blocks shared by the PyTorch twins: the few places where cnnzoo's semantics must be
spelled out rather than left to a PyTorch default."""
import torch
from torch import nn

# cnnzoo's BatchNorm (layers/norm.hpp): PyTorch's eps and momentum unless a model says otherwise.
BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def bn(channels, eps=BN_EPS, momentum=BN_MOMENTUM):
    return nn.BatchNorm2d(channels, eps=eps, momentum=momentum)


def same_pad(kernel, dilation=1):
    """cnnzoo's 'same' padding (ops/geometry.hpp): symmetric, dilation * (k - 1) / 2 on each side,
    whatever the stride (Keras pads stride-2 'same' convolutions asymmetrically; cnnzoo does not)."""
    assert (dilation * (kernel - 1)) % 2 == 0, "cnnzoo's 'same' padding needs an odd kernel extent"
    return dilation * (kernel - 1) // 2


def conv(cin, cout, kernel, stride=1, pad="same", dilation=1, groups=1, bias=False, kernel_w=None):
    kh, kw = kernel, kernel_w or kernel
    padding = (same_pad(kh, dilation), same_pad(kw, dilation)) if pad == "same" else 0
    return nn.Conv2d(cin, cout, (kh, kw), stride=stride, padding=padding, dilation=dilation,
                     groups=groups, bias=bias)


class DropPath(nn.Module):
    """A stochastic-depth gate: in training, keeps each image's branch with probability 1 - drop_prob
    and scales it by 1 / (1 - drop_prob). The parity driver sets drop_prob to 0, as cnnzoo's
    run_options.drop_path = 0 does."""

    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        if not self.training or self.drop_prob == 0.0:
            return x
        keep = 1.0 - self.drop_prob
        mask = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep


def deterministic(model):
    """Dropout and drop-path off, as the parity check runs cnnzoo (run_options dropout = drop_path = 0)."""
    for m in model.modules():
        if isinstance(m, (nn.Dropout, nn.Dropout2d)):
            m.p = 0.0
        if hasattr(m, "drop_prob"):
            m.drop_prob = 0.0
    return model


# ---- combinators of graph/*.hpp and a few layers; added for the twins of the model families ----

def max_pool(size, stride=None, pad="valid"):
    """cnnzoo's max_pool<Size, Stride, Pad> (layers/pool.hpp): 'same' pads (Size - 1) / 2 on each
    side and padded cells never win (PyTorch's -inf padding)."""
    return nn.MaxPool2d(size, stride or size, padding=same_pad(size) if pad == "same" else 0)


def avg_pool(size, stride=None, pad="valid"):
    """cnnzoo's avg_pool<Size, Stride, Pad> (exec/eigen/pool.hpp): divides by the number of in-image
    cells under the window, so padded cells are not counted."""
    return nn.AvgPool2d(size, stride or size, padding=same_pad(size) if pad == "same" else 0,
                        count_include_pad=False)


class GlobalAvgPool(nn.Module):
    """global_avg_pool: (N, C, H, W) -> (N, C), the flat input a dense layer reads."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Residual(nn.Module):
    """residual<Body, Shortcut> (graph/join.hpp): body(x) + shortcut(x); the body's tensors come
    first in the table. shortcut=None is cnnzoo's identity."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class Concat(nn.Module):
    """concat<B...> (graph/concat.hpp): every branch sees x; outputs stacked along channels in
    branch order."""

    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


class MeanJoin(nn.Module):
    """mean_join<B...> (graph/join.hpp): the branches summed in order, then multiplied by 1 / k."""

    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        y = self.branches[0](x)
        for b in self.branches[1:]:
            y = y + b(x)
        return y * (1.0 / len(self.branches))


class SurvivalGate(nn.Module):
    """drop_path<{.survival = p}> without rescale (layers/drop_path.hpp, Huang et al.): in training
    each image's branch is kept (x 1) or dropped (x 0), kept with probability 1 - drop_prob; in
    inference the branch is multiplied by 1 - drop_prob. (DropPath above is the .rescale = true form.)"""

    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        keep = 1.0 - self.drop_prob
        if not self.training:
            return x if self.drop_prob == 0.0 else x * keep
        if self.drop_prob == 0.0:
            return x
        mask = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask


def conv_bn_act(cin, cout, kernel, act=nn.ReLU, **conv_args):
    """models/common.hpp's conv_bn_act: conv -> BatchNorm -> activation (conv_args as conv())."""
    return nn.Sequential(conv(cin, cout, kernel, **conv_args), bn(cout), act())


def bn_act(channels, act=nn.ReLU):
    """models/common.hpp's bn_act: BatchNorm -> activation, the opening of a pre-activation unit."""
    return nn.Sequential(bn(channels), act())
