"""Twin of models/dual_path.hpp (DualPathNet50, DualPathNet92) and graph/dual_path.hpp's combinator."""
import torch
from torch import nn

from .common import GlobalAvgPool, MeanJoin, bn_act, conv, conv_bn_act


class DualPath(nn.Module):
    """dual_path<Body, Shortcut, Residual>: with t = shortcut(x) and y = body(x), the state
    [t[:R] + y[:R] | t[R:] | y[R:]]; the body's tensors come before the shortcut's."""

    def __init__(self, body, shortcut, residual):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.residual = residual

    def forward(self, x):
        y, t = self.body(x), self.shortcut(x)
        r = self.residual
        return torch.cat([t[:, :r] + y[:, :r], t[:, r:], y[:, r:]], dim=1)


class GlobalMaxPool(nn.Module):
    """global_max_pool: (N, C, H, W) -> (N, C); the gradient goes to one maximum (the first, as cnnzoo)."""

    def forward(self, x):
        return x.flatten(2).max(dim=2).values


def dpn_unit(cin, top, bottom, k, groups, stride, project):
    body = nn.Sequential(bn_act(cin), conv_bn_act(cin, top, 1),
                         conv_bn_act(top, top, 3, stride=stride, groups=groups),
                         conv(top, bottom + k, 1, bias=True))
    short = conv(cin, bottom + k, 1, stride=stride, bias=True) if project else None
    return DualPath(body, short, bottom)


def dual_path_net(depths, increments, stem=32, top=96, bottom=256, groups=32, classes=10):
    stages, c = [], stem
    for s, (depth, k) in enumerate(zip(depths, increments)):
        units = []
        for j in range(depth):
            stride = 2 if s > 0 and j == 0 else 1
            units.append(dpn_unit(c, top << s, bottom << s, k, groups, stride, j == 0))
            c = ((bottom << s) + k if j == 0 else c) + k   # the shortcut's channels, then k new ones
        stages.append(nn.Sequential(*units))
    # The head: BN-ReLU, 0.5 (global max + global average), dense.
    return nn.Sequential(conv_bn_act(3, stem, 3), nn.Sequential(*stages),
                         nn.Sequential(bn_act(c), MeanJoin(GlobalMaxPool(), GlobalAvgPool()),
                                       nn.Linear(c, classes)))


TWINS = {
    "DualPathNet50": lambda: dual_path_net((3, 4, 6, 3), (16, 32, 64, 128)),
    "DualPathNet92": lambda: dual_path_net((3, 4, 20, 3), (16, 32, 24, 128)),
}
