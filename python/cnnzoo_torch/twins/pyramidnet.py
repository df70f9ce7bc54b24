"""PyramidNet110's twin: include/cnnzoo/models/pyramidnet.hpp, with layers/channels.hpp's
zero_pad_channels."""
import torch.nn.functional as F
from torch import nn

from .common import GlobalAvgPool, Residual, avg_pool, bn, bn_act, conv, conv_bn_act


class ZeroPadChannels(nn.Module):
    """zero_pad_channels<Out>: the input's channels, then zero channels up to `out`."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        return F.pad(x, (0, 0, 0, 0, 0, self.out - x.shape[1]))


def pyramid_shortcut(cin, out, stride):
    """Parameter-free: a 2x2/2 average pool when the unit strides, zero channels when it widens."""
    parts = ([avg_pool(2)] if stride != 1 else []) + ([ZeroPadChannels(out)] if cin != out else [])
    return nn.Sequential(*parts) if parts else None


def pyramid_bottleneck(cin, width, stride):
    """BN-conv1x1-BN-ReLU-conv3x3(stride)-BN-ReLU-conv1x1(4 width)-BN, no biases, plus the shortcut;
    no ReLU after the add."""
    body = nn.Sequential(bn(cin), conv_bn_act(cin, width, 1), conv_bn_act(width, width, 3, stride=stride),
                         conv(width, 4 * width, 1), bn(4 * width))
    return Residual(body, pyramid_shortcut(cin, 4 * width, stride))


def pyramidnet(base=16, alpha=200, depths=(12, 12, 12), classes=10):
    count = sum(depths)
    firsts = {sum(depths[:s]) for s in range(1, len(depths))}  # units that open stages 2, 3, ...
    units, c = [], base
    for k in range(count):
        width = base + alpha * k // count  # 16 + floor(200 k / 36), k from 0
        units.append(pyramid_bottleneck(c, width, 2 if k in firsts else 1))
        c = 4 * width
    return nn.Sequential(conv_bn_act(3, base, 3), nn.Sequential(*units), bn_act(c),
                         nn.Sequential(GlobalAvgPool(), nn.Linear(c, classes)))


TWINS = {"PyramidNet110": pyramidnet}
