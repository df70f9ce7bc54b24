"""Xception's twin: include/cnnzoo/models/xception.hpp, with layers/separable.hpp."""
from torch import nn

from .common import GlobalAvgPool, Residual, bn, conv, conv_bn_act, max_pool


def separable(cin, out):
    """Keras' SeparableConv2D: depthwise 3x3 (no bias), then pointwise 1x1 (bias)."""
    return nn.Sequential(conv(cin, cin, 3, groups=cin), conv(cin, out, 1, bias=True))


def sep_unit(cin, out):
    """BN -> ReLU -> separable conv (pre-activation)."""
    return nn.Sequential(bn(cin), nn.ReLU(), separable(cin, out))


def down_block(cin, mid, out):
    """BN-R-sep(mid)-BN-R-sep(out)-BN-max pool 3/2 'same', beside a 1x1 stride-2 projection (bias)
    of the raw input."""
    body = nn.Sequential(sep_unit(cin, mid), sep_unit(mid, out), bn(out), max_pool(3, 2, "same"))
    return Residual(body, conv(cin, out, 1, stride=2, bias=True))


def middle_block(width):
    return Residual(nn.Sequential(sep_unit(width, width), sep_unit(width, width), sep_unit(width, width)))


def sep_bn_act(cin, out):
    """sep(out) -> BN -> ReLU, the exit flow's last two convolutions."""
    return nn.Sequential(separable(cin, out), bn(out), nn.ReLU())


def xception(stem=64, width=728 // 4, middle_blocks=8, exit_width=256, head1=384, head2=512, classes=10):
    return nn.Sequential(conv_bn_act(3, stem, 3, bias=True), down_block(stem, width, width),
                         nn.Sequential(*[middle_block(width) for _ in range(middle_blocks)]),
                         down_block(width, width, exit_width), sep_bn_act(exit_width, head1),
                         sep_bn_act(head1, head2), nn.Sequential(GlobalAvgPool(), nn.Linear(head2, classes)))


TWINS = {"Xception": xception}
