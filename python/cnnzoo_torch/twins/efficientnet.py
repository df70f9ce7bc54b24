"""Twin of models/efficientnet.hpp (EfficientNetB0, standard B0 with a stride-1 stem)."""
from torch import nn

from .common import DropPath, GlobalAvgPool, Residual, bn, conv, conv_bn_act
from .senet import SqueezeExcite

# (expand, width, repeats, kernel, stride)
B0_STAGES = [(1, 16, 1, 3, 1), (6, 24, 2, 3, 2), (6, 40, 2, 5, 2), (6, 80, 3, 3, 2),
             (6, 112, 3, 5, 1), (6, 192, 4, 5, 2), (6, 320, 1, 3, 1)]


def mbconv(cin, expand, out, kernel, stride, drop):
    """[1x1-BN-swish unless expand = 1], depthwise k x k-BN-swish, SE (max(1, block input / 4) hidden,
    biases, swish, sigmoid), 1x1-BN; a residual add with drop-connect (rescaled) on the branch when
    stride 1 keeps the width."""
    mid = cin * expand
    rest = nn.Sequential(conv(mid, mid, kernel, stride=stride, groups=mid), bn(mid), nn.SiLU(),
                         SqueezeExcite(mid, max(1, cin // 4), bias=True, act=nn.SiLU),
                         conv(mid, out, 1), bn(out))
    body = rest if expand == 1 else nn.Sequential(conv_bn_act(cin, mid, 1, nn.SiLU), rest)
    return Residual(nn.Sequential(body, DropPath(drop))) if stride == 1 and cin == out else body


def efficientnet(stem=32, stem_stride=1, stages=B0_STAGES, head=1280, dropout=0.2, drop_connect=0.2, classes=10):
    total = sum(s[2] for s in stages)
    blocks, c, b = [], stem, 0
    for expand, out, repeats, kernel, stride in stages:
        for j in range(repeats):
            # Block b's survival is 1 - drop_connect * b / total.
            blocks.append(mbconv(c, expand, out, kernel, stride if j == 0 else 1, drop_connect * b / total))
            c, b = out, b + 1
    return nn.Sequential(conv_bn_act(3, stem, 3, nn.SiLU, stride=stem_stride), nn.Sequential(*blocks),
                         conv_bn_act(c, head, 1, nn.SiLU),
                         nn.Sequential(GlobalAvgPool(), nn.Dropout(dropout), nn.Linear(head, classes)))


TWINS = {"EfficientNetB0": efficientnet}
