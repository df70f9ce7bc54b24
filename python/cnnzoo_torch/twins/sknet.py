"""Twin of models/sknet.hpp (SKNet, the seed's softmax) and layers/selective_kernel.hpp."""
import torch
from torch import nn

from .common import BN_EPS, BN_MOMENTUM, GlobalAvgPool, conv_bn_act
from .resnext import preact_bottleneck, residual_network


class SelectiveKernel(nn.Module):
    """selective_kernel<sk_args>: u0 = 3x3, u1 = dilated 3x3 (stride 1) or 5x5 (stride 2), both grouped,
    no bias, BN-ReLU; a = attention(u0 + u1) of 2c values; y = u0 * a[:c] + u1 * a[c:]. The branches'
    tensors come before the attention's."""

    def __init__(self, c, stride, groups=32, reduction=16, min_hidden=32, over_groups=False):
        super().__init__()
        self.branch0 = conv_bn_act(c, c, 3, stride=stride, groups=groups)
        self.branch1 = conv_bn_act(c, c, 3 if stride == 1 else 5, stride=stride,
                                   dilation=2 if stride == 1 else 1, groups=groups)
        z = max(c // reduction, min_hidden)
        # BatchNorm over the batch of (n, z) vectors (cnnzoo's batch_norm on (z, 1, 1), hw = 1).
        self.attention = nn.Sequential(GlobalAvgPool(), nn.Linear(c, z, bias=False),
                                       nn.BatchNorm1d(z, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU(),
                                       nn.Linear(z, 2 * c))
        self.over_groups = over_groups

    def forward(self, x):
        u0, u1 = self.branch0(x), self.branch1(x)
        n, c = u0.shape[:2]
        logits = self.attention(u0 + u1).view(n, 2, c)
        # The seed's softmax normalises each branch's weights over its c channels (dim 2); the
        # paper's (sknet_paper) normalises over the two branches (dim 1).
        a = torch.softmax(logits, dim=1 if self.over_groups else 2)
        return u0 * a[:, 0, :, None, None] + u1 * a[:, 1, :, None, None]


def sknet_net(stem=64, width=64, expansion=2, groups=32, reduction=16, min_hidden=32, depths=(3, 4, 6, 3),
              over_groups=False):
    def unit(cin, s, stride):
        w = width << s
        sk = SelectiveKernel(w, stride, groups, reduction, min_hidden, over_groups)
        return preact_bottleneck(cin, w, expansion * w, stride, stride_first=False, reduce_bias=False,
                                 middle=sk), expansion * w
    return residual_network(conv_bn_act(3, stem, 3), stem, unit, depths)


TWINS = {"SKNet": sknet_net}
