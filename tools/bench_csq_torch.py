#!/usr/bin/python3
"""PyTorch reference for the CSQ benchmark (tools/bench_csq.sh): training-step time and peak
memory of quantization-aware training in PyTorch, 2 threads.

Models (the same as jaq's, see jaq/nn and examples/train.cpp):
  small-cnn     conv3x3(1->16,p1)-BN-ReLU, conv3x3(16->32,s2,p1)-BN-ReLU,
                conv3x3(32->64,s2,p1)-BN-ReLU, global average pool, fc(64->10)
  mbconv-small  MobileNetV2-style inverted residuals (MBCONV_SMALL below)
Modes:
  fp32  plain training
  lsq4  LSQ 4-bit fake quantization of every conv's weights and input activations: a learned
        step s per tensor, q = round(clamp(x / s, Qn, Qp)) * s, straight-through rounding,
        step gradient scaled by 1 / sqrt(numel * Qp), s initialised to 2 mean|x| / sqrt(Qp)
  csq   the naive all-channel mixed-precision supernet over bits {2, 3, 4, 8}: every conv's
        weights and input activations are quantized at every candidate bit-width (an LSQ step
        per candidate), and the candidates are mixed by the softmax of learned per-layer logits
        (one set for weights, one for activations): w~ = sum_b softmax(a_w)_b Q_b(w),
        x~ = sum_b softmax(a_x)_b Q_b(x), y = conv(x~, w~). Autograd keeps every candidate's
        tensors for backward, which is what makes it memory-hungry.
The classifier fc is quantized like the convs (in jaq it is a weighted layer, a quantization
site, too); --fp32-fc leaves it in fp32. Input: 1x28x28 (Fashion-MNIST's shape),
random normal data with random labels (timing and memory do not depend on the values).

Each configuration runs in a fresh subprocess (so peak RSS is its own) and prints one line:
  torch model=<m> mode=<fp32|lsq4|csq> batch=<b> step_ms=<median> peak_rss_mb=<MiB> base_rss_mb=<MiB>
step_ms: median of --steps timed training steps (forward, backward, SGD step) after --warmup
steps. peak_rss_mb: the process's maximum resident set (getrusage), base_rss_mb: the same just
before the first step (interpreter, torch, model, data), so peak - base is what training adds.

  tools/bench_csq_torch.py                      # all models x modes x batch {128, 512}
  tools/bench_csq_torch.py --models small-cnn --modes fp32,csq --batches 128
  tools/bench_csq_torch.py --smoke              # a few tiny steps of every configuration + checks
  tools/bench_csq_torch.py --device cuda --modes fp32,lsq4 --batches 256   # on the GPU (device_check.sh)
"""
import argparse
import math
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BITS = (2, 3, 4, 8)
# mbconv-small, as jaq/nn/mbconv_small.hpp's defaults: stem conv3x3(1->16)-BN-ReLU6, inverted
# residual blocks (kernel, expansion, stride, out channels), head conv1x1(->128)-BN-ReLU6, global
# average pool, fc(128->10).
MBCONV_SMALL = dict(stem=16, blocks=[(3, 1, 1, 16), (3, 4, 2, 24), (3, 4, 1, 24), (5, 4, 2, 40), (3, 4, 1, 40)],
                    head=128)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---- LSQ -------------------------------------------------------------------------------------

def grad_scale(x, scale):
    """Identity forward; gradient multiplied by `scale`."""
    return (x - x * scale).detach() + x * scale


def round_ste(x):
    """round() forward, identity gradient (straight-through)."""
    return (x.round() - x).detach() + x


class LSQ(nn.Module):
    """LSQ fake quantizer with a learned per-tensor step."""

    def __init__(self, bits, signed):
        super().__init__()
        self.qn = -(2 ** (bits - 1)) if signed else 0
        self.qp = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
        self.step = nn.Parameter(torch.tensor(1.0))
        self.initialised = False

    def forward(self, x):
        if not self.initialised:
            with torch.no_grad():
                self.step.copy_(2 * x.abs().mean() / math.sqrt(self.qp) + 1e-8)
            self.initialised = True
        g = 1.0 / math.sqrt(x.numel() * self.qp)
        s = grad_scale(self.step, g)
        return round_ste(torch.clamp(x / s, self.qn, self.qp)) * s


class MixedQ(nn.Module):
    """Candidates at every bit-width, mixed by the softmax of learned logits."""

    def __init__(self, signed):
        super().__init__()
        self.q = nn.ModuleList(LSQ(b, signed) for b in BITS)
        self.logits = nn.Parameter(torch.zeros(len(BITS)))

    def forward(self, x):
        p = F.softmax(self.logits, dim=0)
        return sum(p[i] * q(x) for i, q in enumerate(self.q))


class QConv(nn.Conv2d):
    """A bias-free conv whose weights and input activations go through a quantizer per mode."""

    def __init__(self, cin, cout, k, stride, padding, groups, mode, signed_input):
        super().__init__(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=False)
        nn.init.kaiming_normal_(self.weight, mode="fan_in", nonlinearity="relu")  # as jaq: N(0, 2/fan_in)
        if mode == "lsq4":
            self.qw, self.qx = LSQ(4, True), LSQ(4, signed_input)
        elif mode == "csq":
            self.qw, self.qx = MixedQ(True), MixedQ(signed_input)
        else:
            self.qw = self.qx = None

    def forward(self, x):
        if self.qw is None:
            return super().forward(x)
        return self._conv_forward(self.qx(x), self.qw(self.weight), None)


class QLinear(nn.Linear):
    """The classifier, quantized like a conv (it is a weighted layer, a site, in jaq) unless fp32_fc."""

    def __init__(self, cin, cout, mode):
        super().__init__(cin, cout)
        self.qw = self.qx = None
        if mode == "lsq4":
            self.qw, self.qx = LSQ(4, True), LSQ(4, False)
        elif mode == "csq":
            self.qw, self.qx = MixedQ(True), MixedQ(False)

    def forward(self, x):
        if self.qw is None:
            return super().forward(x)
        return F.linear(self.qx(x), self.qw(self.weight), self.bias)


# ---- models ----------------------------------------------------------------------------------

def conv_bn_act(cin, cout, k, stride, groups, mode, signed_input, act):
    layers = [QConv(cin, cout, k, stride, k // 2, groups, mode, signed_input), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.features = nn.Sequential(conv_bn_act(1, 16, 3, 1, 1, mode, True, nn.ReLU),
                                      conv_bn_act(16, 32, 3, 2, 1, mode, False, nn.ReLU),
                                      conv_bn_act(32, 64, 3, 2, 1, mode, False, nn.ReLU))
        self.fc = QLinear(64, 10, FC_MODE(mode))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


class InvertedResidual(nn.Module):
    """expand 1x1 (if t > 1) - depthwise 3x3 (stride) - project 1x1 (linear); residual if shapes match."""

    def __init__(self, cin, cout, k, t, stride, mode, signed_input):
        super().__init__()
        hidden = cin * t
        layers = []
        if t != 1:
            layers.append(conv_bn_act(cin, hidden, 1, 1, 1, mode, signed_input, nn.ReLU6))
            signed_input = False
        layers.append(conv_bn_act(hidden, hidden, k, stride, hidden, mode, signed_input, nn.ReLU6))
        layers.append(conv_bn_act(hidden, cout, 1, 1, 1, mode, False, None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MBConvSmall(nn.Module):
    def __init__(self, mode, cfg=MBCONV_SMALL):
        super().__init__()
        layers = [conv_bn_act(1, cfg["stem"], 3, 1, 1, mode, True, nn.ReLU6)]
        cin, signed = cfg["stem"], False
        for k, t, stride, cout in cfg["blocks"]:
            layers.append(InvertedResidual(cin, cout, k, t, stride, mode, signed))
            cin, signed = cout, True  # a block's output is linear (signed)
        layers.append(conv_bn_act(cin, cfg["head"], 1, 1, 1, mode, signed, nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.fc = QLinear(cfg["head"], 10, FC_MODE(mode))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


MODELS = {"small-cnn": SmallCNN, "mbconv-small": MBConvSmall}
FP32_FC = False  # set by --fp32-fc


def FC_MODE(mode):
    return "fp32" if FP32_FC else mode
MODES = ("fp32", "lsq4", "csq")


# ---- one configuration -----------------------------------------------------------------------

def run_one(model_name, mode, batch, steps, warmup, threads, seed, device="cpu"):
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(seed)
    model = MODELS[model_name](mode)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    model(x[:2])  # initialise the LSQ steps from data before the optimiser sees them
    model, x, y = model.to(device), x.to(device), y.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    base = rss_mb()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times, losses = [], []
    for i in range(warmup + steps):
        sync()
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
        losses.append(loss.item())
    return statistics.median(times), rss_mb(), base, losses, model


def smoke_checks(model, mode, losses):
    """What --smoke asserts: finite losses, and the quantizers' parameters learn."""
    problems = []
    if not all(math.isfinite(l) for l in losses):
        problems.append(f"non-finite loss {losses}")
    for name, p in model.named_parameters():
        if ("step" in name or "logits" in name) and (p.grad is None or not torch.isfinite(p.grad).all()
                                                      or p.grad.abs().sum() == 0):
            problems.append(f"{name}: no usable gradient")
    n_q = sum(1 for n, _ in model.named_parameters() if n.endswith("step"))
    expected = {"fp32": 0, "lsq4": 2, "csq": 2 * len(BITS)}[mode]
    n_conv = sum(1 for m in model.modules() if isinstance(m, (QConv, QLinear)) and (m.qw is not None or mode == "fp32"))
    if n_q != expected * n_conv:
        problems.append(f"expected {expected * n_conv} LSQ steps for {n_conv} convs, found {n_q}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="small-cnn,mbconv-small")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--batches", default="128,512")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where PyTorch trains (cuda: the GPU, synchronised per step)")
    ap.add_argument("--smoke", action="store_true", help="batch 8, 2 steps each, with checks")
    ap.add_argument("--fp32-fc", action="store_true", help="leave the classifier unquantized")
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "MODE", "BATCH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    global FP32_FC
    FP32_FC = a.fp32_fc

    if a.one:  # the child: one configuration
        model_name, mode, batch = a.one[0], a.one[1], int(a.one[2])
        step_ms, peak, base, losses, model = run_one(model_name, mode, batch, a.steps, a.warmup, a.threads, a.seed, a.device)
        if a.smoke:
            problems = smoke_checks(model, mode, losses)
            if problems:
                sys.exit(f"smoke {model_name}/{mode}: " + "; ".join(problems))
        gpu = f" device=cuda gpu_peak_mb={torch.cuda.max_memory_allocated() / 2**20:.1f}" if a.device == "cuda" else ""
        print(f"torch model={model_name} mode={mode} batch={batch} step_ms={step_ms:.3f} "
              f"peak_rss_mb={peak:.1f} base_rss_mb={base:.1f}{gpu}", flush=True)
        return

    models = a.models.split(",")
    modes = a.modes.split(",")
    batches = [int(b) for b in a.batches.split(",")]
    for m in models:
        if m not in MODELS:
            sys.exit(f"bench_csq_torch: --models: unknown model '{m}' (known: {', '.join(MODELS)})")
    for m in modes:
        if m not in MODES:
            sys.exit(f"bench_csq_torch: --modes: unknown mode '{m}' (known: {', '.join(MODES)})")
    steps, warmup = a.steps, a.warmup
    if a.smoke:
        batches, steps, warmup = [8], 2, 1
    failed = 0
    for model_name in models:
        for mode in modes:
            for batch in batches:
                cmd = [sys.executable, __file__, "--one", model_name, mode, str(batch), "--steps", str(steps),
                       "--warmup", str(warmup), "--threads", str(a.threads), "--seed", str(a.seed), "--device", a.device]
                if a.smoke:
                    cmd.append("--smoke")
                if a.fp32_fc:
                    cmd.append("--fp32-fc")
                r = subprocess.run(cmd, capture_output=True, text=True)
                sys.stdout.write(r.stdout)
                sys.stdout.flush()
                if r.returncode != 0:
                    failed += 1
                    sys.stderr.write(r.stderr[-2000:])
    if a.smoke:
        print("bench_csq_torch smoke: " + ("ok" if failed == 0 else f"{failed} configuration(s) failed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
