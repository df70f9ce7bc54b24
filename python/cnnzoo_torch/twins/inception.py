"""The twins of Inception V1 to V4: include/cnnzoo/models/inception.hpp.

Every module is a concat of branches in the order the header writes them. A module function takes
its input channels and returns (module, output channels), so the network threads the widths."""
from torch import nn

from .common import Concat, GlobalAvgPool, avg_pool, conv_bn_act, max_pool


def iconv(cin, cout, kh=1, kw=None, stride=1, pad="same"):
    """inception_conv: conv (bias) -> BN -> ReLU with a kh x kw kernel ('same' pads each axis by
    (k - 1) / 2, so 1xK pads only the width)."""
    return conv_bn_act(cin, cout, kh, kernel_w=kw or kh, stride=stride, pad=pad, bias=True)


def chain(cin, *specs):
    """seq of iconvs; each spec is (out, kh, kw, stride, pad) with trailing defaults."""
    layers = []
    for spec in specs:
        out, rest = spec[0], spec[1:]
        layers.append(iconv(cin, out, *rest))
        cin = out
    return nn.Sequential(*layers)


def branch_pool(kind):
    """The 3x3/1 'same' pool that opens a pool branch (average pooling counts in-image cells only)."""
    return max_pool(3, 1, "same") if kind == "max" else avg_pool(3, 1, "same")


def v1_block(cin, a, b1, b2, c1, c2, d):
    """[1x1 a; 1x1 b1 -> 3x3 b2; 1x1 c1 -> 5x5 c2; max pool 3/1 -> 1x1 d]."""
    return Concat(iconv(cin, a), chain(cin, (b1,), (b2, 3)), chain(cin, (c1,), (c2, 5)),
                  nn.Sequential(branch_pool("max"), iconv(cin, d))), a + b2 + c2 + d


def a_block(cin, a, b1, b2, c1, c2, c3, d, pool="avg"):
    """[1x1 a; 1x1 b1 -> 3x3 b2; 1x1 c1 -> 3x3 c2 -> 3x3 c3; pool 3/1 -> 1x1 d]."""
    return Concat(iconv(cin, a), chain(cin, (b1,), (b2, 3)), chain(cin, (c1,), (c2, 3), (c3, 3)),
                  nn.Sequential(branch_pool(pool), iconv(cin, d))), a + b2 + c3 + d


def v2_block(cin, a, b1, b2, c1, c2, d, pool="avg"):
    """The seed's (a, b1, b2, c1, c2, d): both 3x3s of the third branch at c2."""
    return a_block(cin, a, b1, b2, c1, c2, c2, d, pool)


def reduction(cin, b1, b2, c1, c2, pad):
    """[1x1 b1 -> 3x3/2 b2; 1x1 c1 -> 3x3 c2 -> 3x3/2 c2; max pool 3/2], 'same' or 'valid'."""
    return Concat(chain(cin, (b1,), (b2, 3, 3, 2, pad)), chain(cin, (c1,), (c2, 3), (c2, 3, 3, 2, pad)),
                  max_pool(3, 2, pad)), b2 + c2 + cin


def factorized_block(cin, k, a, b1, b2, b3, c1, c2, c3, c4, c5, d):
    """[1x1 a; 1x1 b1 -> 1xk b2 -> kx1 b3; 1x1 c1 -> 1xk c2 -> kx1 c3 -> 1xk c4 -> kx1 c5;
    avg pool 3/1 -> 1x1 d]."""
    return Concat(iconv(cin, a), chain(cin, (b1,), (b2, 1, k), (b3, k, 1)),
                  chain(cin, (c1,), (c2, 1, k), (c3, k, 1), (c4, 1, k), (c5, k, 1)),
                  nn.Sequential(branch_pool("avg"), iconv(cin, d))), a + b3 + c5 + d


def split(cin, left, right):
    """1x3 to left and 3x1 to right, side by side on the same input."""
    return Concat(iconv(cin, left, 1, 3), iconv(cin, right, 3, 1))


def v3_c_block(cin, a, b1, b2, c1, c2, d):
    """[1x1 a; 1x1 b1 -> split(b2, b2); 1x1 c1 -> 3x3 c2 -> split(c2, c2); avg pool 3/1 -> 1x1 d]."""
    return Concat(iconv(cin, a), nn.Sequential(iconv(cin, b1), split(b1, b2, b2)),
                  nn.Sequential(iconv(cin, c1), iconv(c1, c2, 3), split(c2, c2, c2)),
                  nn.Sequential(branch_pool("avg"), iconv(cin, d))), a + 2 * b2 + 2 * c2 + d


def v4_reduction_a(cin, a, b1, b2, b3):
    """[3x3/2 a; 1x1 b1 -> 3x3 b2 -> 3x3/2 b3; max pool 3/2], all 'valid'."""
    return Concat(iconv(cin, a, 3, 3, 2, "valid"), chain(cin, (b1,), (b2, 3), (b3, 3, 3, 2, "valid")),
                  max_pool(3, 2, "valid")), a + b3 + cin


def v4_reduction_b(cin, a1, a2, b1, b2, b3, b4):
    """[1x1 a1 -> 3x3/2 a2; 1x1 b1 -> 1x7 b2 -> 7x1 b3 -> 3x3/2 b4; max pool 3/2], all 'valid'."""
    return Concat(chain(cin, (a1,), (a2, 3, 3, 2, "valid")),
                  chain(cin, (b1,), (b2, 1, 7), (b3, 7, 1), (b4, 3, 3, 2, "valid")),
                  max_pool(3, 2, "valid")), a2 + b4 + cin


def v4_c_block(cin, a, b1, b2, b3, c1, c2, c3, c4, c5, d):
    """[1x1 a; 1x1 b1 -> split(b2, b3); 1x1 c1 -> 1x3 c2 -> 3x1 c3 -> split(c4, c5); avg pool 3/1 -> 1x1 d]."""
    return Concat(iconv(cin, a), nn.Sequential(iconv(cin, b1), split(b1, b2, b3)),
                  nn.Sequential(iconv(cin, c1), iconv(c1, c2, 1, 3), iconv(c2, c3, 3, 1), split(c3, c4, c5)),
                  nn.Sequential(branch_pool("avg"), iconv(cin, d))), a + b2 + b3 + c4 + c5 + d


def inception_net(stem, dropout, blocks, classes=10):
    """A 3x3 stem, the modules (and pools) in order, global average pool, dropout, dense. `blocks`
    are functions of the input channels returning (module, output channels)."""
    layers, c = [iconv(3, stem, 3)], stem
    for make in blocks:
        module, c = make(c)
        layers.append(module)
    layers.append(nn.Sequential(GlobalAvgPool(), nn.Dropout(dropout), nn.Linear(c, classes)))
    return nn.Sequential(*layers)


def block(fn, *args, **kwargs):
    return lambda cin: fn(cin, *args, **kwargs)


def pool_step(*args):
    return lambda cin: (max_pool(*args), cin)


def inception_v1():
    v1_pool = pool_step(3, 2, "same")
    return inception_net(32, 0.4, [
        block(v1_block, 16, 24, 32, 4, 8, 8), block(v1_block, 32, 32, 48, 8, 16, 16), v1_pool,
        block(v1_block, 48, 24, 52, 4, 12, 16), block(v1_block, 40, 28, 56, 6, 16, 16),
        block(v1_block, 32, 32, 64, 6, 16, 16), block(v1_block, 28, 36, 72, 8, 16, 16),
        block(v1_block, 64, 40, 80, 8, 32, 32), v1_pool, block(v1_block, 64, 40, 80, 8, 32, 32),
        block(v1_block, 96, 48, 96, 12, 32, 32)])


def inception_v2():
    return inception_net(32, 0.4, [
        block(v2_block, 16, 16, 16, 16, 24, 8), block(v2_block, 16, 16, 24, 16, 24, 16),
        block(reduction, 32, 40, 16, 24, "same"),
        block(v2_block, 56, 16, 24, 24, 32, 32), block(v2_block, 48, 24, 32, 24, 32, 32),
        block(v2_block, 40, 32, 40, 32, 40, 32), block(v2_block, 24, 32, 48, 40, 48, 32),
        block(reduction, 32, 48, 48, 64, "same"),
        block(v2_block, 88, 48, 80, 40, 56, 32), block(v2_block, 88, 48, 80, 48, 56, 32, pool="max")])


def inception_v3():
    v3_b = block(factorized_block, 3, 48, 40, 40, 48, 40, 40, 40, 40, 48, 48)
    v3_c = block(v3_c_block, 80, 96, 96, 112, 96, 48)
    return inception_net(32, 0.4, [
        block(a_block, 16, 12, 16, 16, 24, 24, 8), block(a_block, 16, 12, 16, 16, 24, 24, 16),
        block(a_block, 16, 12, 16, 16, 24, 24, 16),
        block(reduction, 48, 96, 16, 24, "valid"),
        block(factorized_block, 3, 48, 32, 32, 48, 32, 32, 32, 32, 48, 48), v3_b, v3_b,
        block(factorized_block, 3, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48),
        block(reduction, 48, 80, 48, 48, "valid"), v3_c, v3_c])


def inception_v4():
    v4_a = block(a_block, 24, 16, 24, 16, 24, 24, 24)
    v4_b = block(factorized_block, 7, 96, 48, 56, 64, 48, 48, 56, 56, 64, 32)
    v4_c = block(v4_c_block, 64, 96, 64, 64, 96, 112, 128, 64, 64, 64)
    return inception_net(32, 0.2, [v4_a] * 4 + [block(v4_reduction_a, 96, 48, 56, 64)] + [v4_b] * 7
                         + [block(v4_reduction_b, 48, 48, 64, 64, 80, 80)] + [v4_c] * 3)


TWINS = {"InceptionV1": inception_v1, "InceptionV2": inception_v2, "InceptionV3": inception_v3,
         "InceptionV4": inception_v4}
