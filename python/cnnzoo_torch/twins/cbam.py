"""Twin of models/cbam.hpp (CBAM-ResNet50) and layers/attention.hpp's cbam, gate, twin_pool and
layers/channel_pool.hpp."""
import torch
from torch import nn

from .common import conv
from .resnext import preact_bottleneck_resnet


class ChannelAttention(nn.Module):
    """gate<twin_pool<dense(c / r, bias)-ReLU-dense(c, bias)>, sigmoid>: one MLP on the stacked batch
    [avg rows; max rows] (as cnnzoo runs it), the two halves summed, sigmoid, scale per channel."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                 nn.Linear(channels // reduction, channels))

    def forward(self, x):
        n = x.shape[0]
        pooled = torch.cat([x.mean(dim=(2, 3)), x.flatten(2).max(dim=2).values], dim=0)
        z = self.mlp(pooled)
        return x * torch.sigmoid(z[:n] + z[n:])[:, :, None, None]


class SpatialAttention(nn.Module):
    """gate<concat<channel_mean, channel_max>, conv k x k (2 -> 1, bias, 'same'), sigmoid>: scale per pixel."""

    def __init__(self, kernel=7):
        super().__init__()
        self.conv = conv(2, 1, kernel, bias=True)

    def forward(self, x):
        stats = torch.cat([x.mean(dim=1, keepdim=True), x.max(dim=1, keepdim=True).values], dim=1)
        return x * torch.sigmoid(self.conv(stats))


def cbam(channels, reduction=16, kernel=7):
    return nn.Sequential(ChannelAttention(channels, reduction), SpatialAttention(kernel))


TWINS = {"CBAM-ResNet50": lambda: preact_bottleneck_resnet(64, (3, 4, 6, 3), tail=cbam)}
