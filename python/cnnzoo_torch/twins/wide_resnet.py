"""Twin of models/wide_resnet.hpp (WideResNet, WRN-28-10); wide_resnet_net is also the body of
SE-WideResNet (senet.py)."""
from torch import nn

from .common import Residual, bn, conv, conv_bn_act
from .resnext import residual_network, shortcut


def wide_unit(cin, width, stride, act=nn.ReLU, dropout=0.3, tail=None):
    """BN-act-conv3x3(stride, bias)-BN-act-dropout-conv3x3(bias), then tail(width) on the branch,
    plus the shortcut on the raw input."""
    body = nn.Sequential(bn(cin), act(), conv(cin, width, 3, stride=stride, bias=True),
                         bn(width), act(), nn.Dropout(dropout), conv(width, width, 3, bias=True),
                         *([tail(width)] if tail else []))
    return Residual(body, shortcut(cin, width, stride))


def wide_resnet_net(depth=28, widen=10, stem=16, stem_bias=True, act=nn.ReLU, dropout=0.3, tail=None):
    n = (depth - 4) // 6

    def unit(cin, s, stride):
        w = (16 * widen) << s
        return wide_unit(cin, w, stride, act, dropout, tail), w
    return residual_network(conv_bn_act(3, stem, 3, act, bias=stem_bias), stem, unit, (n, n, n), act=act)


TWINS = {"WideResNet": wide_resnet_net}
