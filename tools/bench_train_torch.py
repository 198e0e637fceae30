#!/usr/bin/python3
"""PyTorch half of tools/bench_train.sh: the small-cnn trained on Fashion-MNIST.

Same model, data, normalisation, batching and optimiser as jaq's examples/train.cpp defaults
(see docs/benchmarks.md), 2 threads. With --quant lsq --bits B, LSQ quantization-aware training
as jaq's `examples/train --quant lsq --bits B` does it (jaq/quant/quantize_model.hpp): every
weighted layer's weights per output channel and its input activations per tensor; the first
and the last layer at --first-bits / --last-bits (8); an activation grid signed when the first
batch reaching the layer has a negative value (the normalised image), unsigned otherwise;
steps s0 = 2 mean|x| / sqrt(Q_P) from the initial weights and the first batch; the step
gradient scaled by 1 / sqrt(N Q_P), N = the channel's weights or the features per example;
steps trained by the same SGD (weight decay included) and floored at 1e-6 after each step.
Prints a progress line now and then and, at the end, the same machine-readable line as jaq's
example:

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

from bench_csq_torch import grad_scale, round_ste  # LSQ's two autograd tricks, written once

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


# ---- LSQ, as jaq/quant/lsq.hpp and quantize_model.hpp define it ------------------------------

def qrange(bits, signed):
    """(Q_N, Q_P) of a bits-wide grid, as jaq::quant::qrange."""
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def lsq(x, step, qn, qp, n):
    """v_hat = round(clamp(x / s, Qn, Qp)) * s with s's gradient scaled by 1 / sqrt(n * Qp)."""
    s = grad_scale(step, 1.0 / math.sqrt(n * max(qp, 1)))
    return round_ste(torch.clamp(x / s, qn, qp)) * s


class LSQSite(nn.Module):
    """One weighted layer's quantizers: weights per output channel (signed), the input per tensor
    (its sign and step taken from the first batch)."""

    def __init__(self, weight, bits):
        super().__init__()
        self.bits = bits
        self.wqn, self.wqp = qrange(bits, True)
        cout = weight.shape[0]
        per_channel = weight.detach().reshape(cout, -1)
        self.wn = per_channel.shape[1]
        s0 = (2 * per_channel.abs().mean(1) / math.sqrt(self.wqp)).clamp_min(1e-8)
        self.wstep = nn.Parameter(s0.reshape((cout,) + (1,) * (weight.dim() - 1)).clone())
        self.astep = nn.Parameter(torch.tensor(1.0))
        self.initialised = False

    def quantize(self, x, w):
        if not self.initialised:
            with torch.no_grad():
                self.aqn, self.aqp = qrange(self.bits, bool(x.min() < 0))
                self.astep.copy_((2 * x.abs().mean() / math.sqrt(self.aqp)).clamp_min(1e-8))
            self.initialised = True
        xq = lsq(x, self.astep, self.aqn, self.aqp, x[0].numel())
        return xq, lsq(w, self.wstep, self.wqn, self.wqp, self.wn)

    def project(self, floor=1e-6):
        with torch.no_grad():
            self.wstep.clamp_(min=floor)
            self.astep.clamp_(min=floor)


class Quantized:
    """A weighted layer whose weights and input go through its LSQSite `q` (None: fp32); the
    subclass's op(x, w) is the layer's own operation."""

    def forward(self, x):
        return self.op(*self.q.quantize(x, self.weight)) if self.q is not None else self.op(x, self.weight)


class Conv(Quantized, nn.Conv2d):
    def __init__(self, cin, cout, stride, bias, bits):
        super().__init__(cin, cout, 3, stride=stride, padding=1, bias=bias)
        nn.init.kaiming_normal_(self.weight, mode="fan_in", nonlinearity="relu")  # as jaq: N(0, 2/fan_in)
        self.q = LSQSite(self.weight, bits) if bits else None

    def op(self, x, w):
        return self._conv_forward(x, w, self.bias)


class Linear(Quantized, nn.Linear):
    def __init__(self, cin, cout, bits):
        super().__init__(cin, cout)
        self.q = LSQSite(self.weight, bits) if bits else None

    def op(self, x, w):
        return F.linear(x, w, self.bias)


def conv_bn(cin, cout, stride, bias, bits):
    return nn.Sequential(Conv(cin, cout, stride, bias, bits), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """conv3x3(1->16, p1)-BN-ReLU, conv3x3(16->32, s2, p1)-BN-ReLU, conv3x3(32->64, s2, p1)-BN-ReLU,
    global average pool, fc(64->10). bits: (first, inner, last) widths, or None for fp32."""

    def __init__(self, conv_bias=False, bits=None):
        super().__init__()
        first, inner, last = bits or (0, 0, 0)
        self.features = nn.Sequential(conv_bn(1, 16, 1, conv_bias, first), conv_bn(16, 32, 2, conv_bias, inner),
                                      conv_bn(32, 64, 2, conv_bias, inner))
        self.fc = Linear(64, 10, last)

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
    ap.add_argument("--quant", choices=["lsq"], help="quantization-aware training (default: fp32)")
    ap.add_argument("--bits", type=int, default=4, help="width of the inner layers (with --quant)")
    ap.add_argument("--first-bits", type=int, default=8)
    ap.add_argument("--last-bits", type=int, default=8)
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
    model = SmallCNN(args.conv_bias, (args.first_bits, args.bits, args.last_bits) if args.quant else None)
    sites = [m.q for m in model.modules() if isinstance(m, Quantized) and m.q is not None]
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
            for q in sites:
                q.project()
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
