"""Twin of models/resnext.hpp (ResNeXt50), with the pre-activation bottleneck machinery of
models/resnet.hpp (preact_bottleneck_of, shortcut, residual_network) that the SE, CBAM and SK
families reuse."""
from torch import nn

from .common import GlobalAvgPool, Residual, bn, bn_act, conv, conv_bn_act


def shortcut(cin, cout, stride):
    """models/common.hpp shortcut<Out, Stride>: the identity (None) when the unit keeps the shape,
    else a 1x1 conv with bias and no BN, applied to the unit's raw input (not the pre-activated one)."""
    return None if cin == cout and stride == 1 else conv(cin, cout, 1, stride=stride, bias=True)


def preact_bottleneck(cin, width, out, stride, groups=1, stride_first=True, reduce_bias=True,
                      middle=None, tail=None):
    """preact_bottleneck_of: BN-R-1x1(width)-BN-R-middle-1x1(out, bias), then tail(out) on the branch,
    plus the shortcut. The default middle is bottleneck_3x3: a grouped 3x3 with bias, BN, ReLU,
    strided unless the first 1x1 carries the stride."""
    if middle is None:
        middle = conv_bn_act(width, width, 3, stride=1 if stride_first else stride, groups=groups, bias=True)
    body = nn.Sequential(bn(cin), nn.ReLU(),
                         conv(cin, width, 1, stride=stride if stride_first else 1, bias=reduce_bias),
                         bn(width), nn.ReLU(), middle, conv(width, out, 1, bias=True),
                         *([tail(out)] if tail else []))
    return Residual(body, shortcut(cin, out, stride))


def residual_network(stem, stem_out, unit, depths, act=nn.ReLU, classes=10):
    """residual_network<Stem, Family, preact_head, Depths>: the stem, one stage per depth (the first
    unit of every stage but the first strides 2), then BN-act, global average pool, dense.
    unit(cin, stage, stride) returns (module, its output channels)."""
    stages, c = [], stem_out
    for s, depth in enumerate(depths):
        units = []
        for j in range(depth):
            m, c = unit(c, s, 2 if s > 0 and j == 0 else 1)
            units.append(m)
        stages.append(nn.Sequential(*units))
    return nn.Sequential(stem, nn.Sequential(*stages), bn_act(c, act),
                         nn.Sequential(GlobalAvgPool(), nn.Linear(c, classes)))


def preact_bottleneck_resnet(base=64, depths=(3, 4, 6, 3), tail=None):
    """ResNet50's body (resnet.hpp preact_bottleneck_resnet): stem c3-base with bias, units of width
    base << stage with 4x outputs, the stride and a bias on the first 1x1; tail on every branch."""
    def unit(cin, s, stride):
        out = (4 * base) << s
        return preact_bottleneck(cin, base << s, out, stride, tail=tail), out
    return residual_network(conv_bn_act(3, base, 3, bias=True), base, unit, depths)


def resnext_net(stem=64, width=128, expansion=2, cardinality=32, depths=(3, 4, 6, 3), tail=None):
    """resnext_net<resnext_args>: stem c3 without bias; units of grouped width width << stage, outputs
    expansion times that; no bias on the first 1x1, the stride on the grouped 3x3."""
    def unit(cin, s, stride):
        w = width << s
        return preact_bottleneck(cin, w, expansion * w, stride, groups=cardinality, stride_first=False,
                                 reduce_bias=False, tail=tail), expansion * w
    return residual_network(conv_bn_act(3, stem, 3), stem, unit, depths)


TWINS = {"ResNeXt50": resnext_net}
