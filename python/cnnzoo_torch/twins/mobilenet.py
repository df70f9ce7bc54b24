"""Twin of models/mobilenet.hpp (MobileNetV3, the seed's CIFAR adaptation of MobileNetV3-Large)."""
import torch.nn.functional as F
from torch import nn

from .common import GlobalAvgPool, Residual, bn, conv, conv_bn_act
from .senet import SqueezeExcite


class HardSigmoid(nn.Module):
    """relu6(x + 3) / 6, cnnzoo's hard sigmoid. Written out rather than F.hardsigmoid: PyTorch 1.13's
    backward of F.hardsigmoid multiplies by a float32 1/6 even in double precision (0.16666667163...),
    which the parity check in double measures as a 1.3e-7 relative difference in every gradient."""

    def forward(self, x):
        return F.relu6(x + 3) / 6


class HardSwish(HardSigmoid):
    """x * hard_sigmoid(x), as cnnzoo computes it (not F.hardswish, which rounds differently), so
    the derivative at the kinks is cnnzoo's too (0 at -3, 1 at 3)."""

    def forward(self, x):
        return x * super().forward(x)


# (out, expand, kernel, stride, SE, act): "RE" is ReLU6, "HS" hard-swish.
SEED_BLOCKS = [(40, 120, 5, 1, True, nn.ReLU6), (40, 120, 5, 1, True, nn.ReLU6), (80, 240, 3, 2, False, HardSwish),
               (80, 200, 3, 1, False, HardSwish), (80, 184, 3, 1, False, HardSwish),
               (80, 184, 3, 1, False, HardSwish), (112, 480, 3, 1, True, HardSwish),
               (112, 672, 3, 1, True, HardSwish), (160, 672, 5, 2, True, HardSwish),
               (160, 960, 5, 1, True, HardSwish), (160, 960, 5, 1, True, HardSwish)]


def bneck(cin, out, expand, kernel, stride, se, act):
    """1x1-BN-act, depthwise k x k (stride)-BN with no activation, SE (expand / 4, no bias, ReLU6,
    hard sigmoid), 1x1-BN-act (the seed's projection has the block's activation); a residual add
    when stride 1 keeps the width."""
    body = nn.Sequential(conv_bn_act(cin, expand, 1, act),
                         nn.Sequential(conv(expand, expand, kernel, stride=stride, groups=expand), bn(expand)),
                         *([SqueezeExcite(expand, expand // 4, act=nn.ReLU6, gate=HardSigmoid)] if se else []),
                         conv_bn_act(expand, out, 1, act))
    return Residual(body) if stride == 1 and cin == out else body


def mobilenet_v3(stem=40, blocks=SEED_BLOCKS, head=960, dense=1280, classes=10):
    units, c = [], stem
    for out, expand, kernel, stride, se, act in blocks:
        units.append(bneck(c, out, expand, kernel, stride, se, act))
        c = out
    return nn.Sequential(conv_bn_act(3, stem, 3, nn.ReLU6), nn.Sequential(*units),
                         conv_bn_act(c, head, 1, HardSwish), GlobalAvgPool(), nn.Linear(head, dense),
                         HardSwish(), nn.Linear(dense, classes))


TWINS = {"MobileNetV3": mobilenet_v3}
