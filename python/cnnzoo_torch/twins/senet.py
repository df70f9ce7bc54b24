"""Twin of models/senet.hpp (SE-ResNet50, SE-ResNeXt50, SE-WideResNet, SE-WideResNet_2, SENet154)
and layers/squeeze_excite.hpp, which mobilenet.py and efficientnet.py reuse."""
from torch import nn

from .common import GlobalAvgPool

from .resnext import preact_bottleneck_resnet, resnext_net
from .wide_resnet import wide_resnet_net


class SqueezeExcite(nn.Module):
    """squeeze_excite<se_args>: s = gate(dense(c)(act(dense(hidden)(global_avg_pool(x))))), y = x * s."""

    def __init__(self, channels, hidden, bias=False, act=nn.ReLU, gate=nn.Sigmoid):
        super().__init__()
        self.excite = nn.Sequential(GlobalAvgPool(), nn.Linear(channels, hidden, bias=bias), act(),
                                    nn.Linear(hidden, channels, bias=bias), gate())

    def forward(self, x):
        s = self.excite(x)
        return x * s[:, :, None, None]


def se(reduction=16, bias=False, act=nn.ReLU):
    """A tail for the residual families: SE on the branch's output channels, hidden = c / reduction."""
    return lambda c: SqueezeExcite(c, c // reduction, bias=bias, act=act)


def se_wide_resnet():
    return wide_resnet_net(stem=64, stem_bias=False, act=nn.SiLU, dropout=0.2, tail=se(bias=True, act=nn.SiLU))


TWINS = {
    "SE-ResNet50": lambda: preact_bottleneck_resnet(64, (3, 4, 6, 3), tail=se()),
    "SE-ResNeXt50": lambda: resnext_net(tail=se()),
    "SE-WideResNet": se_wide_resnet,
    "SE-WideResNet_2": se_wide_resnet,
    "SENet154": lambda: resnext_net(stem=32, width=256, expansion=4, cardinality=64, depths=(3, 8, 36, 3),
                                    tail=se()),
}
