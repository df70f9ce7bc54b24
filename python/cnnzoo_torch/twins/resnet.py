"""The twins of the pre-activation ResNets: include/cnnzoo/models/resnet.hpp (ResNet18, ResNet50).

preact_bottleneck() takes the parts that end the branch before the add (`tail`), as the header
does, so stochastic_depth.py builds on it."""
from torch import nn

from .common import GlobalAvgPool, Residual, bn, bn_act, conv, conv_bn_act


def shortcut(cin, out, stride):
    """The identity where the unit keeps the shape, else a 1x1 projection (bias, no BN) of the
    unit's raw input (models/common.hpp)."""
    return None if cin == out and stride == 1 else conv(cin, out, 1, stride=stride, bias=True)


def preact_basic_unit(cin, width, stride):
    """BN-ReLU-conv3x3(stride)-BN-ReLU-conv3x3, every conv with a bias, plus the shortcut."""
    body = nn.Sequential(bn(cin), nn.ReLU(), conv(cin, width, 3, stride=stride, bias=True), bn(width), nn.ReLU(),
                         conv(width, width, 3, bias=True))
    return Residual(body, shortcut(cin, width, stride))


def preact_bottleneck(cin, width, out, stride, tail=()):
    """ResNet50's unit: BN-ReLU-conv1x1(width, stride, bias)-BN-ReLU-conv3x3(width, bias)-BN-ReLU-
    conv1x1(out, bias), then `tail`, plus the shortcut. The stride is on the first 1x1."""
    body = nn.Sequential(bn(cin), nn.ReLU(), conv(cin, width, 1, stride=stride, bias=True), bn(width), nn.ReLU(),
                         conv(width, width, 3, bias=True), bn(width), nn.ReLU(), conv(width, out, 1, bias=True),
                         *tail)
    return Residual(body, shortcut(cin, out, stride))


def stage_stride(stage, unit):
    """The first unit of every stage but the first halves the map."""
    return 2 if stage > 0 and unit == 0 else 1


def residual_network(stem, stem_width, depths, make_unit, classes=10):
    """seq<stem, seq<stage...>, BN, ReLU, global average pool, dense>; make_unit(cin, stage, stride,
    index) -> (unit, output channels), index counting units over the whole network."""
    stages, c, index = [], stem_width, 0
    for s, depth in enumerate(depths):
        units = []
        for u in range(depth):
            unit, c = make_unit(c, s, stage_stride(s, u), index)
            units.append(unit)
            index += 1
        stages.append(nn.Sequential(*units))
    return nn.Sequential(stem, nn.Sequential(*stages), bn_act(c), nn.Sequential(GlobalAvgPool(), nn.Linear(c, classes)))


def resnet18(base=64):
    def unit(cin, stage, stride, _index):
        w = base << stage
        return preact_basic_unit(cin, w, stride), w
    return residual_network(conv_bn_act(3, base, 3, bias=True), base, [2, 2, 2, 2], unit)


def bottleneck_resnet(base=64, depths=(3, 4, 6, 3), tail=lambda index: ()):
    """ResNet50's body with tail(index) closing unit index's branch."""
    def unit(cin, stage, stride, index):
        w, out = base << stage, (4 * base) << stage
        return preact_bottleneck(cin, w, out, stride, tail(index)), out
    return residual_network(conv_bn_act(3, base, 3, bias=True), base, depths, unit)


def resnet50():
    return bottleneck_resnet()


TWINS = {"ResNet18": resnet18, "ResNet50": resnet50}
