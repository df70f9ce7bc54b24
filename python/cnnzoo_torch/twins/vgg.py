"""VGG16's twin: include/cnnzoo/models/vgg.hpp."""
from torch import nn

from .common import BN_EPS, BN_MOMENTUM, conv_bn_act, max_pool


def vgg_stage(cin, width, convs):
    """convs x (conv3x3 (bias) -> BN -> ReLU), then a 2x2 max pool."""
    layers = [conv_bn_act(cin if i == 0 else width, width, 3, bias=True) for i in range(convs)]
    return nn.Sequential(nn.Sequential(*layers), max_pool(2))


def vgg_hidden(fin, units, dropout=0.5):
    """dense (bias) -> BatchNorm on the flat (n, units) activations -> ReLU -> dropout."""
    return nn.Sequential(nn.Linear(fin, units), nn.BatchNorm1d(units, eps=BN_EPS, momentum=BN_MOMENTUM),
                         nn.ReLU(), nn.Dropout(dropout))


def vgg16(hidden=4096, classes=10):
    stages, cin = [], 3
    for width, convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        stages.append(vgg_stage(cin, width, convs))
        cin = width
    # Five 2x2 pools take 32x32 to 1x1: the classifier reads 512 features.
    return nn.Sequential(*stages, nn.Flatten(), vgg_hidden(cin, hidden), vgg_hidden(hidden, hidden),
                         nn.Linear(hidden, classes))


TWINS = {"VGG16": vgg16}
