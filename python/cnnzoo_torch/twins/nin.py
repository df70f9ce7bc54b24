"""Network in Network's twin: include/cnnzoo/models/nin.hpp."""
from torch import nn

from .common import GlobalAvgPool, conv_bn_act, max_pool


def mlpconv(cin, kernel, c0, c1, c2):
    """A kernel x kernel conv to c0, then 1x1 convs to c1 and c2; each conv (bias) -> BN -> ReLU."""
    return nn.Sequential(conv_bn_act(cin, c0, kernel, bias=True), conv_bn_act(c0, c1, 1, bias=True),
                         conv_bn_act(c1, c2, 1, bias=True))


def nin(dropout=0.5, classes=10):
    # The last mlpconv's 10 maps are ReLU'd before the average pool, whose output is the logits.
    return nn.Sequential(mlpconv(3, 5, 192, 160, 96), max_pool(3, 2, "same"), nn.Dropout(dropout),
                         mlpconv(96, 5, 192, 192, 192), max_pool(3, 2, "same"), nn.Dropout(dropout),
                         mlpconv(192, 3, 192, 192, classes), GlobalAvgPool())


TWINS = {"NIN": nin}
