"""FractalNet's twin: include/cnnzoo/models/fractalnet.hpp."""
from torch import nn

from .common import MeanJoin, conv_bn_act, max_pool


def fractal(columns, cin, width):
    """f_1 = conv3x3 (bias) -> BN -> ReLU; f_C = mean(f_{C-1}(f_{C-1}(z)), conv(z)): the deep
    branch first, every join a pairwise mean."""
    if columns == 1:
        return conv_bn_act(cin, width, 3, bias=True)
    return MeanJoin(nn.Sequential(fractal(columns - 1, cin, width), fractal(columns - 1, width, width)),
                    conv_bn_act(cin, width, 3, bias=True))


def fractalnet(columns=3, widths=(64, 128, 256, 512, 512), classes=10):
    blocks, cin = [], 3
    for w in widths:
        blocks.append(nn.Sequential(fractal(columns, cin, w), max_pool(2)))
        cin = w
    # Five 2x2 pools take 32x32 to 1x1: the dense layer reads the flattened 1x1x512 map.
    return nn.Sequential(*blocks, nn.Flatten(), nn.Linear(cin, classes))


TWINS = {"FractalNet": fractalnet}
