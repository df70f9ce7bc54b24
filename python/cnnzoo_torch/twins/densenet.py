"""Twin of models/densenet.hpp (DenseNet100, DenseNet121), BC variant with the seed's transition
widths (transition_rule::seed)."""
from torch import nn

from .common import Concat, GlobalAvgPool, avg_pool, bn, bn_act, conv, conv_bn_act


def dense_layer(cin, growth):
    """concat<identity, BN-R-conv1x1(4 growth, bias)-BN-R-conv3x3(growth, bias)>: [input | new]."""
    return Concat(nn.Identity(),
                  nn.Sequential(bn(cin), nn.ReLU(), conv(cin, 4 * growth, 1, bias=True),
                                bn(4 * growth), nn.ReLU(), conv(4 * growth, growth, 3, bias=True)))


def transition(cin, out):
    return nn.Sequential(bn(cin), nn.ReLU(), conv(cin, out, 1, bias=True), avg_pool(2))


def densenet_bc(growth, depths, classes=10):
    c = uncompressed = 2 * growth
    stages = []
    for b, depth in enumerate(depths):
        block = []
        for _ in range(depth):
            block.append(dense_layer(c, growth))
            c += growth
        uncompressed += growth * depth
        if b + 1 == len(depths):
            stages.append(nn.Sequential(*block))
        else:
            # The seed's rule: half of what the width would be had nothing been compressed.
            out = uncompressed // 2
            stages.append(nn.Sequential(nn.Sequential(*block), transition(c, out)))
            c = out
    return nn.Sequential(conv_bn_act(3, 2 * growth, 3, bias=True), nn.Sequential(*stages), bn_act(c),
                         nn.Sequential(GlobalAvgPool(), nn.Linear(c, classes)))


TWINS = {
    "DenseNet100": lambda: densenet_bc(24, (16, 16, 16)),
    "DenseNet121": lambda: densenet_bc(32, (6, 12, 24, 16)),
}
