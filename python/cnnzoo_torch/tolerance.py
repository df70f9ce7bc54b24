"""How far two float implementations of the same network may differ: bounds from the arithmetic's
unit roundoff and the network's own sizes (used by the PyTorch parity check and the ONNX check)."""
import math

EPS32 = 2.0 ** -24  # unit roundoff of float32
EPS64 = 2.0 ** -53  # and of float64


def tolerance(entries, unit=EPS32, stored=0.0):
    """The bound each comparison is held to, from the network's own sizes.

    A float32 dot product of length K has a relative error that grows like sqrt(K) u for rounding
    errors of random sign (the deterministic bound is K u); a network composes L such layers, each
    passing its input's error on and adding its own. Two implementations that sum in different
    orders therefore differ by about sqrt(K_max) u L relative to the output's scale. The
    tolerance is 16 times that: the factor covers BatchNorm's division by a batch standard
    deviation and the softmax, which amplify relative error by small constants, and not more.
    Gradients pass through the network twice (forward, then backward) and get twice the bound.
    `stored`: the rounding of results computed in double and stored in float (2^-24)."""
    kernels = [s for name, s in entries if name.endswith("/weight") and len(s) >= 2]
    depth = max(1, len(kernels))
    fan_in = max([math.prod(s[1:]) for s in kernels] or [1])
    forward = 16 * math.sqrt(fan_in) * unit * depth
    return {"logits": stored + forward, "loss": stored + forward, "grad": stored + 2 * forward,
            "state": stored + forward}
