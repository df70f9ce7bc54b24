"""Twin of models/shufflenet.hpp (ShuffleNetV2, the seed's variant with side_relu) and
layers/channels.hpp's channel_slice and channel_shuffle."""
import torch
from torch import nn

from .common import Concat, GlobalAvgPool, bn, conv, conv_bn_act


def channel_shuffle(x, groups):
    """Output channel j * groups + g is input channel g * (c / groups) + j, at every pixel."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def shuffle_branch(cin, width, stride):
    """1x1-BN-ReLU, depthwise 3x3 (stride)-BN, 1x1-BN-ReLU."""
    return nn.Sequential(conv_bn_act(cin, width, 1), conv(width, width, 3, stride=stride, groups=width),
                         bn(width), conv_bn_act(width, width, 1))


class ShuffleUnit(nn.Module):
    """Stride 1: the *first* half goes through the branch and the second is kept,
    concat [branch(x[:c/2]) | x[c/2:]], then the shuffle."""

    def __init__(self, out, groups=2):
        super().__init__()
        self.branch = shuffle_branch(out // 2, out // 2, 1)
        self.groups = groups

    def forward(self, x):
        h = x.shape[1] // 2
        return channel_shuffle(torch.cat([self.branch(x[:, :h]), x[:, h:]], dim=1), self.groups)


class ShuffleDownUnit(nn.Module):
    """Stride 2: [branch(x) | side(x)], the side dw3 (stride 2)-BN-ReLU-1x1-BN-ReLU (the seed's
    ReLU after the depthwise BN), then the shuffle."""

    def __init__(self, cin, out, groups=2):
        super().__init__()
        self.concat = Concat(shuffle_branch(cin, out // 2, 2),
                             nn.Sequential(conv(cin, cin, 3, stride=2, groups=cin), bn(cin), nn.ReLU(),
                                           conv_bn_act(cin, out // 2, 1)))
        self.groups = groups

    def forward(self, x):
        return channel_shuffle(self.concat(x), self.groups)


def shufflenet(stem=24, widths=(116, 232, 464), depths=(4, 8, 4), head=1024, classes=10):
    stages, c = [], stem
    for width, depth in zip(widths, depths):
        stages.append(nn.Sequential(ShuffleDownUnit(c, width), *[ShuffleUnit(width) for _ in range(depth - 1)]))
        c = width
    # The head's 1x1 conv has neither bias, BN nor activation.
    return nn.Sequential(conv_bn_act(3, stem, 3), nn.Sequential(*stages), conv(c, head, 1),
                         nn.Sequential(GlobalAvgPool(), nn.Linear(head, classes)))


TWINS = {"ShuffleNetV2": shufflenet}
