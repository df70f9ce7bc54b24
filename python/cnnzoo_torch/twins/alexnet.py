"""AlexNet's twin: include/cnnzoo/models/alexnet.hpp."""
from torch import nn

from .common import bn, conv, max_pool


def alexnet(c1=96, c2=256, c3=384, c4=384, c5=256, hidden=2048, dropout=0.5, classes=10):
    def valid_stage(cin, cout):  # conv3x3 'valid' (bias) -> BN -> ReLU -> max pool 3/2 'valid'
        return nn.Sequential(conv(cin, cout, 3, pad="valid", bias=True), bn(cout), nn.ReLU(), max_pool(3, 2))

    def same_conv(cin, cout):  # conv3x3 'same' (bias) -> ReLU, no BatchNorm
        return nn.Sequential(conv(cin, cout, 3, bias=True), nn.ReLU())

    def hidden_layer(fin):
        return nn.Sequential(nn.Linear(fin, hidden), nn.ReLU(), nn.Dropout(dropout))

    # 32 -> 30 -> 14 -> 12 -> 5 (-> 5 -> 5 -> 5) -> 2: the classifier reads 2x2 maps, flattened (c, h, w).
    return nn.Sequential(valid_stage(3, c1), valid_stage(c1, c2), same_conv(c2, c3), same_conv(c3, c4),
                         same_conv(c4, c5), max_pool(3, 2), nn.Flatten(), hidden_layer(c5 * 2 * 2),
                         hidden_layer(hidden), nn.Linear(hidden, classes))


TWINS = {"AlexNet": alexnet}
