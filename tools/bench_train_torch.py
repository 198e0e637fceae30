#!/usr/bin/python3
"""PyTorch half of tools/bench_train.sh: the small-cnn trained for one epoch on Fashion-MNIST.

Same model, data, normalisation, batching and optimiser as jaq's examples/train.cpp defaults
(see docs/benchmarks.md), 2 threads. Prints a progress line now and then and, at the end, the
same machine-readable line as jaq's example:

    result: test_accuracy=<0..1> median_step_ms=<ms> images_per_s=<n> peak_rss_mb=<MiB>

median_step_ms: median wall time of one training step (batch gather, forward, loss, backward,
optimiser step, accuracy count: what jaq's step time covers too), skipping the first --warmup
steps. images_per_s: images trained / the sum of all step times (as jaq's). Data: the idx files read with gzip + numpy (no torchvision, no download).
"""
import argparse
import gzip
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_MEAN, FASHION_STD = 0.2860406, 0.3530242


def read_idx(path, magic):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    found, = struct.unpack(">I", data[:4])
    if found != magic:
        sys.exit(f"{path}: wrong magic number: expected {magic}, found {found}")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        sys.exit(f"{path}: truncated: expected {int(np.prod(dims))} values, found {arr.size}")
    return arr.reshape(dims)


def find(data_dir, base):
    for name in (base + ".gz", base):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    sys.exit(f"{os.path.join(data_dir, base + '.gz')}: file not found")


def load_split(data_dir, prefix):
    x = read_idx(find(data_dir, f"{prefix}-images-idx3-ubyte"), 2051)
    y = read_idx(find(data_dir, f"{prefix}-labels-idx1-ubyte"), 2049)
    x = (x.astype(np.float32) / 255.0 - FASHION_MEAN) / FASHION_STD
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(y.astype(np.int64))


def conv_bn(cin, cout, stride, bias):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """conv3x3(1->16, p1)-BN-ReLU, conv3x3(16->32, s2, p1)-BN-ReLU, conv3x3(32->64, s2, p1)-BN-ReLU,
    global average pool, fc(64->10)."""

    def __init__(self, conv_bias=False):
        super().__init__()
        self.features = nn.Sequential(conv_bn(1, 16, 1, conv_bias), conv_bn(16, 32, 2, conv_bias),
                                      conv_bn(32, 64, 2, conv_bias))
        self.fc = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")  # as jaq: N(0, 2/fan_in)

    def forward(self, x):
        x = self.features(x)
        x = x.mean(dim=(2, 3))
        return self.fc(x)


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                    help="cosine: per-step cosine decay from --lr to 0 over the run")
    ap.add_argument("--lr-warmup", type=int, default=0, help="linear learning-rate warm-up steps")
    ap.add_argument("--schedule-steps", type=int, default=0,
                    help="steps the cosine spans (0: the whole run, after --max-steps)")
    ap.add_argument("--conv-bias", action="store_true", help="convolutions with a bias (default: none, BN follows)")
    ap.add_argument("--drop-last", action="store_true")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: full run)")
    ap.add_argument("--warmup", type=int, default=5, help="steps left out of the median")
    ap.add_argument("--every", type=int, default=50, help="progress line every N steps")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "t10k")
    n = xtr.shape[0]
    steps_per_epoch = n // args.batch if args.drop_last else math.ceil(n / args.batch)
    total = steps_per_epoch * args.epochs
    if args.max_steps:
        total = min(total, args.max_steps)

    sched_total = args.schedule_steps or steps_per_epoch * args.epochs  # as jaq: --max-steps does not shorten it
    model = SmallCNN(args.conv_bias)
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                              weight_decay=args.weight_decay, nesterov=args.nesterov)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    def lr_at(step):  # jaq/optim/schedule.hpp's cosine_schedule, min_lr 0
        if args.schedule == "constant":
            return args.lr
        if step < args.lr_warmup:
            return args.lr * (step + 1) / args.lr_warmup
        span = max(1, sched_total - args.lr_warmup)
        t = min(1.0, (step - args.lr_warmup) / span)
        return 0.5 * args.lr * (1.0 + math.cos(math.pi * t))

    step_ms = []
    images_done = 0
    step = 0
    done = False
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(n))
        correct = seen = 0
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            t0 = time.perf_counter()
            idx = order[b * args.batch:(b + 1) * args.batch]
            xb, yb = xtr[idx], ytr[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += (out.argmax(1) == yb).sum().item()
            loss_sum += loss.item()
            step_ms.append((time.perf_counter() - t0) * 1e3)
            seen += yb.shape[0]
            images_done += yb.shape[0]
            step += 1
            if step % args.every == 0:
                print(f"torch epoch {epoch + 1}/{args.epochs} step {b + 1}/{steps_per_epoch} "
                      f"loss {loss_sum / (b + 1):.4f} acc {correct / seen:.4f}", flush=True)
            if step >= total:
                done = True
                break
        if done:
            break
    loop_s = sum(step_ms) / 1e3  # as jaq: the sum of the step times (batch copy included)
    images = images_done
    acc = evaluate(model, xte, yte)
    timed = step_ms[args.warmup:] if len(step_ms) > args.warmup else step_ms
    median = float(np.median(timed))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"result: test_accuracy={acc:.4f} median_step_ms={median:.3f} "
          f"images_per_s={images / loop_s:.1f} peak_rss_mb={rss_mb:.1f}", flush=True)


if __name__ == "__main__":
    main()
