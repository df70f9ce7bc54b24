"""StochasticDepth's twin: include/cnnzoo/models/stochastic_depth.hpp (ResNet50 with a gate
closing every residual branch)."""
from .common import SurvivalGate
from .resnet import bottleneck_resnet


def linear_survival(index, units, last):
    """Survival of unit `index` (from 0) of `units`: 1 - (1 - last) index / units, so the first
    unit is never dropped and unit 15 of 16 survives with 0.53125."""
    return 1.0 - (1.0 - last) * index / units


def stochastic_depth_resnet50(depths=(3, 4, 6, 3), last=0.5):
    units = sum(depths)
    # cnnzoo's gate does not rescale in training and multiplies by the survival in inference.
    return bottleneck_resnet(64, depths, lambda i: (SurvivalGate(1.0 - linear_survival(i, units, last)),))


TWINS = {"StochasticDepth": stochastic_depth_resnet50}
