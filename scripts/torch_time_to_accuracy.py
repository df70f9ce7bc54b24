#!/usr/bin/env python3
"""The PyTorch side of scripts/time-to-accuracy.sh: the same network, recipe and data as
`cnnzoo-train --model NAME --time-budget M --val-split 5000 --device cpu`, on the CPU.

  python3 scripts/torch_time_to_accuracy.py DATA_DIR OUT.jsonl --minutes M [--model InceptionV1|SqueezeNet]
          [--threads 2] [--seed 1] [--batch 128] [--lr 0.1] [--init he_normal|glorot_uniform] [--weight-decay 5e-4]
          [--recipe-from cnnzoo/report.json]    (batch, lr, init and weight decay of the cnnzoo run)

DATA_DIR holds CIFAR-10 in the official binary format (data_batch_1..5.bin). As cnnzoo-train
does, it trains on all but the last 5,000 training images and validates on those.

The network and recipe follow cnnzoo's definitions, not PyTorch's defaults:
  - InceptionV1 as include/cnnzoo/models/inception.hpp composes it (370,694 trainable parameters):
    conv(bias) -> BN -> ReLU everywhere, symmetric 'same' padding, 3x3/2 max pools padded by 1,
    global average pool, dropout 0.4, dense. SqueezeNet as include/cnnzoo/models/squeezenet.hpp
    (727,626): conv(bias) -> ReLU, Fire modules with every second one bypassed, 2x2 pools, dropout
    0.5, a 1x1 classifier with ReLU, global average pool. The script refuses a count that differs.
  - Kernels He-normal as Keras draws them (normal truncated at 2 sigma, widened to variance
    2 / fan_in) or Glorot-uniform; biases and betas 0, gammas 1; BatchNorm eps 1e-5, momentum
    0.1 (cnnzoo's).
  - The seed recipe, as cnnzoo's report.json gives it (time-to-accuracy.sh passes it on): SGD with
    Nesterov momentum 0.9, L2 on kernels only, z-score normalisation by the training set's channel
    statistics, random flips and crops after zero padding by 4 in normalised space (zero is the
    mean pixel).
  - The time budget as cnnzoo-train's --time-budget: the cosine schedule follows the wall clock
    (evaluation included) from the first step; the run ends when the budget is spent; the
    validation split is evaluated after every epoch and at the end.

Writes one JSON object per evaluation to OUT.jsonl: {"framework", "seconds", "epoch", "images",
"val_acc", "val_loss"}.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

RECORD = 1 + 3 * 32 * 32
HELD_OUT = 5000


def load_cifar_bin(data_dir):
    """All training records of data_batch_1..5.bin: (N, 3, 32, 32) uint8 images, (N,) int64 labels."""
    chunks = []
    for i in range(1, 6):
        path = os.path.join(data_dir, f"data_batch_{i}.bin")
        if os.path.exists(path):
            with open(path, "rb") as f:
                chunks.append(f.read())
    if not chunks:
        sys.exit(f"torch_time_to_accuracy: no data_batch_*.bin in {data_dir}")
    raw = torch.frombuffer(bytearray(b"".join(chunks)), dtype=torch.uint8).view(-1, RECORD)
    return raw[:, 1:].reshape(-1, 3, 32, 32).clone(), raw[:, 0].long().clone()


# ---- InceptionV1, as cnnzoo composes it --------------------------------------------------------
class ConvBnRelu(nn.Sequential):
    def __init__(self, cin, cout, k=1):
        super().__init__(nn.Conv2d(cin, cout, k, 1, k // 2, bias=True), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
                         nn.ReLU(inplace=True))


class InceptionV1Block(nn.Module):
    """[1x1 a; 1x1 b1 -> 3x3 b2; 1x1 c1 -> 5x5 c2; max pool 3/1 -> 1x1 d], concatenated in that order."""

    def __init__(self, cin, a, b1, b2, c1, c2, d):
        super().__init__()
        self.one = ConvBnRelu(cin, a)
        self.three = nn.Sequential(ConvBnRelu(cin, b1), ConvBnRelu(b1, b2, 3))
        self.five = nn.Sequential(ConvBnRelu(cin, c1), ConvBnRelu(c1, c2, 5))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), ConvBnRelu(cin, d))
        self.out_channels = a + b2 + c2 + d

    def forward(self, x):
        return torch.cat([self.one(x), self.three(x), self.five(x), self.pool(x)], 1)


def inception_v1():
    widths = [(16, 24, 32, 4, 8, 8), (32, 32, 48, 8, 16, 16), "pool", (48, 24, 52, 4, 12, 16),
              (40, 28, 56, 6, 16, 16), (32, 32, 64, 6, 16, 16), (28, 36, 72, 8, 16, 16),
              (64, 40, 80, 8, 32, 32), "pool", (64, 40, 80, 8, 32, 32), (96, 48, 96, 12, 32, 32)]
    layers, c = [ConvBnRelu(3, 32, 3)], 32
    for w in widths:
        if w == "pool":
            layers.append(nn.MaxPool2d(3, 2, 1))
        else:
            block = InceptionV1Block(c, *w)
            layers.append(block)
            c = block.out_channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(c, 10)]
    return nn.Sequential(*layers)


# ---- SqueezeNet, as cnnzoo composes it (include/cnnzoo/models/squeezenet.hpp) ------------------
def conv_relu(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, k // 2, bias=True), nn.ReLU(inplace=True))


class Fire(nn.Module):
    """Squeeze 1x1 to s, then [expand 1x1 to 4s; expand 3x3 to 4s] concatenated; with `bypass`, plus the input."""

    def __init__(self, cin, s, bypass=False):
        super().__init__()
        self.squeeze = conv_relu(cin, s, 1)
        self.one, self.three = conv_relu(s, 4 * s, 1), conv_relu(s, 4 * s, 3)
        self.bypass = bypass

    def forward(self, x):
        y = self.squeeze(x)
        y = torch.cat([self.one(y), self.three(y)], 1)
        return x + y if self.bypass else y


def squeezenet():
    layers, c = [conv_relu(3, 64, 3), nn.MaxPool2d(2)], 64
    for s, pool in ((16, True), (32, True), (48, False), (64, False)):
        layers += [Fire(c, s), Fire(8 * s, s, bypass=True)]
        c = 8 * s
        if pool:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.Dropout(0.5), conv_relu(c, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


MODELS = {"InceptionV1": (inception_v1, 370694), "SqueezeNet": (squeezenet, 727626)}


def he_normal_keras_(weight, generator):
    """Keras' he_normal: normal truncated at two standard deviations, widened to variance 2 / fan_in."""
    fan_in = weight[0].numel()
    std = math.sqrt(2.0 / fan_in) / 0.87962566103423978
    with torch.no_grad():
        w = torch.empty_like(weight)
        flat = w.view(-1)
        filled = 0
        while filled < flat.numel():  # resample outside two standard deviations, as Keras does
            draw = torch.randn(2 * (flat.numel() - filled) + 16, generator=generator)
            draw = draw[draw.abs() <= 2.0][: flat.numel() - filled]
            flat[filled:filled + draw.numel()] = draw
            filled += draw.numel()
        weight.copy_(w * std)


def glorot_uniform_(weight, generator):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out)), the fans counted as cnnzoo and PyTorch count them."""
    receptive = weight[0][0].numel() if weight.dim() > 2 else 1
    fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        weight.copy_((torch.rand(weight.shape, generator=generator) * 2 - 1) * limit)


def initialise(model, seed, kernels="he_normal"):
    g = torch.Generator().manual_seed(seed)
    draw = he_normal_keras_ if kernels == "he_normal" else glorot_uniform_
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            draw(m.weight, g)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def augment(batch, generator, pad=4):
    """Random flip, then a random crop of the zero-padded (normalised) image, per image."""
    n = batch.shape[0]
    flips = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(flips.view(-1, 1, 1, 1), batch.flip(3), batch)
    padded = F.pad(batch, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    return torch.stack([padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32] for i in range(n)])


def evaluate(model, images, labels, mean, std, batch=500):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, images.shape[0], batch):
            x = (images[i:i + batch].float() - mean) / std
            z = model(x)
            loss += F.cross_entropy(z, labels[i:i + batch], reduction="sum").item()
            correct += (z.argmax(1) == labels[i:i + batch]).sum().item()
    model.train()
    return correct / images.shape[0], loss / images.shape[0]


def take_recipe(args, c):
    """The cnnzoo run's recipe (report.json's config), refused where this script cannot follow it."""
    plain = (c["schedule"] == "cosine" and c["flip"] and c["crop_padding"] == 4 and c["momentum"] == 0.9
             and c["nesterov"] and c["dropout"] < 0 and not any(
                 c[k] for k in ("mixup_alpha", "label_smoothing", "cutout", "rotation", "shift", "shear", "zoom",
                                "warmup_epochs", "clip_norm")))
    if not plain:
        sys.exit("torch_time_to_accuracy: this script follows cosine, Nesterov 0.9, flips and 4-pixel crops only; "
                 f"{args.recipe_from} has more")
    args.batch, args.lr, args.init, args.weight_decay = c["batch_size"], c["lr"], c["init"], c["weight_decay"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--model", default="InceptionV1", choices=sorted(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--init", default="he_normal", choices=["he_normal", "glorot_uniform"])
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--recipe-from", metavar="REPORT_JSON")
    args = ap.parse_args()
    if args.recipe_from:
        take_recipe(args, json.load(open(args.recipe_from))["config"])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    images, labels = load_cifar_bin(args.data_dir)
    train_x, train_y = images[:-HELD_OUT], labels[:-HELD_OUT]
    val_x, val_y = images[-HELD_OUT:], labels[-HELD_OUT:]
    mean = train_x.float().mean((0, 2, 3)).view(1, 3, 1, 1)
    std = train_x.float().std((0, 2, 3)).view(1, 3, 1, 1)

    build, expected = MODELS[args.model]
    model = build()
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if count != expected:
        sys.exit(f"torch_time_to_accuracy: {args.model} has {count} trainable parameters, cnnzoo's has {expected}")
    initialise(model, args.seed, args.init)
    kernels = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    kernel_ids = {id(p) for p in kernels}
    others = [p for p in model.parameters() if id(p) not in kernel_ids]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": args.weight_decay}, {"params": others, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    budget = 60 * args.minutes
    gen = torch.Generator().manual_seed(args.seed)
    out = open(args.out, "w")
    print(f"torch: {args.model} ({count} trainable parameters), PyTorch {torch.__version__}, {args.threads} threads, "
          f"{train_x.shape[0]} training images, {val_x.shape[0]} held out, batch {args.batch}, lr {args.lr:g}, "
          f"{args.init} kernels, {args.minutes:g} minutes", flush=True)

    start = time.monotonic()
    epoch, seen, spent = 0, 0, False
    model.train()
    while not spent:
        order = torch.randperm(train_x.shape[0], generator=gen)
        for first in range(0, order.numel(), args.batch):
            elapsed = time.monotonic() - start
            if elapsed >= budget:
                spent = True
                break
            for group in opt.param_groups:
                group["lr"] = 0.5 * args.lr * (1 + math.cos(math.pi * elapsed / budget))
            idx = order[first:first + args.batch]
            x = augment((train_x[idx].float() - mean) / std, gen)
            loss = F.cross_entropy(model(x), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += idx.numel()
            if not math.isfinite(loss.item()):
                sys.exit("torch_time_to_accuracy: the loss became non-finite")
        epoch += 1
        acc, vloss = evaluate(model, val_x, val_y, mean, std)
        row = {"framework": "pytorch", "seconds": round(time.monotonic() - start, 1), "epoch": epoch,
               "images": seen, "val_acc": acc, "val_loss": vloss}
        out.write(json.dumps(row) + "\n")
        out.flush()
        print(f"torch: {row['seconds']:8.1f} s  epoch {epoch}  {seen} images  validation accuracy {100 * acc:.2f}%",
              flush=True)


if __name__ == "__main__":
    main()
