"""DilatedConv's twin: include/cnnzoo/models/dilated.hpp."""
from torch import nn

from .common import GlobalAvgPool, Residual, bn_act, conv, conv_bn_act


def hybrid_dilated_block(cin, width):
    """conv3x3 dil 1 -> BN -> ReLU, conv3x3 dil 2 -> BN -> ReLU, conv3x3 dil 3, plus a 1x1 projection
    of the input (all with bias); BN -> ReLU after the sum."""
    body = nn.Sequential(conv_bn_act(cin, width, 3, dilation=1, bias=True),
                         conv_bn_act(width, width, 3, dilation=2, bias=True),
                         conv(width, width, 3, dilation=3, bias=True))
    return nn.Sequential(Residual(body, conv(cin, width, 1, bias=True)), bn_act(width))


def dilated_conv(widths=(16, 32, 64, 128, 256), classes=10):
    blocks, cin = [], 3
    for w in widths:
        blocks.append(hybrid_dilated_block(cin, w))
        cin = w
    return nn.Sequential(*blocks, nn.Sequential(GlobalAvgPool(), nn.Linear(cin, classes)))


TWINS = {"DilatedConv": dilated_conv}
