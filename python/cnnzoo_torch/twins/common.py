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
