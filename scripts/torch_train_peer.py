#!/usr/bin/env python3
"""PyTorch beside cnnzoo-train on the GPU machine: trains a zoo row, as the peer's network
definitions build it (../shared/peers/torch_zoo.py, carried beside this script), with the short
recipe scripts/gpu-learn-check.sh gives cnnzoo-train, on the same split, and prints one JSON line.

  python3 torch_train_peer.py --zoo DIR --model NAME --data DIR --epochs E [--batch 512] [--lr 0.4]
                              [--precision bf16|fp32] [--label-smoothing 0.1] [--mixup-alpha 0]

The recipe: SGD with Nesterov momentum 0.9, weight decay 5e-4 on every weight of rank > 1 (the
convolution and dense kernels, as cnnzoo decays them), a one-cycle schedule with PyTorch's and
cnnzoo's constants (30% up from lr/25, cosine down to lr/25e4; momentum not cycled, as cnnzoo does
not), random flips and crops after zero padding by 4, label smoothing and mixup when asked. Data:
CIFAR-10 in the official binary format, data_batch_1..4 for training and data_batch_5 held out
(cnnzoo-train --val-split 10000 holds out the same images). Time counts training steps only, as
cnnzoo's report.json step_seconds does; evaluation is outside it.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

RECORD = 1 + 3 * 32 * 32


def load(data_dir, names, device):
    raw = b"".join(open(os.path.join(data_dir, n), "rb").read() for n in names)
    t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, RECORD)
    return t[:, 1:].reshape(-1, 3, 32, 32).to(device), t[:, 0].long().to(device)


def augment(x, pad=4):
    """Random flips and random crops of the zero-padded (normalised) batch, on the device."""
    n = x.shape[0]
    flip = torch.rand(n, device=x.device) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(32, device=x.device).view(1, 32, 1) + dy).expand(n, 32, 32)
    cols = (torch.arange(32, device=x.device).view(1, 1, 32) + dx).expand(n, 32, 32)
    idx = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", required=True, help="directory holding torch_zoo.py")
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.4)
    ap.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--mixup-alpha", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, args.zoo)
    import torch_zoo  # the peer's network definitions, exact counts

    torch.manual_seed(args.seed)
    dev = "cuda"
    torch.backends.cudnn.benchmark = True
    train_x, train_y = load(args.data, [f"data_batch_{i}.bin" for i in range(1, 5)], dev)
    val_x, val_y = load(args.data, ["data_batch_5.bin"], dev)
    mean = train_x.float().mean((0, 2, 3), keepdim=True)
    std = train_x.float().std((0, 2, 3), keepdim=True)
    model = torch_zoo.build(args.model).to(dev).to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = math.ceil(train_x.shape[0] / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps_per_epoch * args.epochs,
                                                pct_start=0.3, div_factor=25, final_div_factor=1e4,
                                                cycle_momentum=False)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    beta = torch.distributions.Beta(args.mixup_alpha, args.mixup_alpha) if args.mixup_alpha > 0 else None
    train_seconds = 0.0
    for epoch in range(args.epochs):
        model.train()
        torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(train_x.shape[0], device=dev)
        for first in range(0, order.numel(), args.batch):
            idx = order[first:first + args.batch]
            x = augment((train_x[idx].float() - mean) / std).contiguous(memory_format=torch.channels_last)
            y = train_y[idx]
            with autocast:
                if beta is not None:
                    lam = float(beta.sample())
                    perm = torch.randperm(x.shape[0], device=dev)
                    z = model(lam * x + (1 - lam) * x[perm])
                    loss = lam * F.cross_entropy(z, y, label_smoothing=args.label_smoothing) + \
                        (1 - lam) * F.cross_entropy(z, y[perm], label_smoothing=args.label_smoothing)
                else:
                    loss = F.cross_entropy(model(x), y, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        torch.cuda.synchronize()
        train_seconds += time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad(), autocast:
        for first in range(0, val_x.shape[0], 1000):
            x = ((val_x[first:first + 1000].float() - mean) / std).contiguous(memory_format=torch.channels_last)
            correct += (model(x).argmax(1) == val_y[first:first + 1000]).sum().item()
    print(json.dumps({"model": args.model, "epochs": args.epochs, "batch": args.batch, "precision": args.precision,
                      "val_acc": correct / val_x.shape[0], "train_seconds": round(train_seconds, 2),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
