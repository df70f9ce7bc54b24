"""SqueezeNet's twin: include/cnnzoo/models/squeezenet.hpp."""
from torch import nn

from .common import Concat, GlobalAvgPool, Residual, conv, max_pool


def squeeze_conv(cin, cout, kernel):
    """conv (bias) -> ReLU."""
    return nn.Sequential(conv(cin, cout, kernel, bias=True), nn.ReLU())


def fire(cin, s):
    """Squeeze 1x1 to s, then [expand 1x1 to 4s, expand 3x3 to 4s] concatenated: 8s channels."""
    return nn.Sequential(squeeze_conv(cin, s, 1), Concat(squeeze_conv(s, 4 * s, 1), squeeze_conv(s, 4 * s, 3)))


def fire_pair(cin, s):
    """Two Fire modules, the second with an identity bypass."""
    return nn.Sequential(fire(cin, s), Residual(fire(8 * s, s)))


def squeezenet(stem=64, classes=10):
    # The 1x1 classifier's maps are ReLU'd before the average pool, whose output is the logits.
    return nn.Sequential(squeeze_conv(3, stem, 3), max_pool(2), fire_pair(stem, 16), max_pool(2),
                         fire_pair(128, 32), max_pool(2), fire_pair(256, 48), fire_pair(384, 64),
                         nn.Dropout(0.5), squeeze_conv(512, classes, 1), GlobalAvgPool())


TWINS = {"SqueezeNet": squeezenet}
