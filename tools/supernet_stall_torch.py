#!/usr/bin/python3
"""Does a 9-operator supernet train in the joint search's budget? An independent check in PyTorch.

The fmnist preset's supernet (docs/search.md) in plain PyTorch, full precision: stride-2 stem
(16), six blocks (channels 16, 24, 24, 32, 32, 64; strides 1, 1, 1, 2, 1, 2), each with the nine
candidates of jaq/nas/space.hpp (MBConv k3/k5 x e1/e3/e6, the two e1 variants with a grouped
(g = 2) project, skip), each candidate with its own weights, then a 1x1 head (256), pooling and
the classifier. SGD (lr, momentum 0.9, weight decay 5e-4), batch 128, 12,800 training images,
100 steps; the running training loss and accuracy every 20 steps.

Paths per step (the first argument):
  perblock   every block draws its operator independently (what the search's warm-up does)
  global     one operator index for all blocks
  single     one operator (k3_e3) only: an ordinary network
  corrQ      block b keeps block b-1's operator with probability Q (e.g. corr0.8)
  mixedglobal  half the steps global, half per block

  /usr/bin/python3 tools/supernet_stall_torch.py perblock [lr] [sgd|plain|adam]

Reads Fashion-MNIST from Debian's dataset-fashion-mnist package. Results: docs/benchmarks.md
("Why the supernet does not train in the budget").
"""
import gzip
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(2)
torch.manual_seed(1)
random.seed(1)
mode = sys.argv[1] if len(sys.argv) > 1 else "perblock"
lr = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
opt_name = sys.argv[3] if len(sys.argv) > 3 else "sgd"
DATA = "/usr/share/datasets/fashion-mnist/"


def idx(name, offset):
    return np.frombuffer(gzip.open(DATA + name).read(), np.uint8, offset=offset)


X = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
Y = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
X = torch.tensor((X[:12800] - 0.2860) / 0.3530)
Y = torch.tensor(Y[:12800])


class Candidate(nn.Module):
    """MBConv (kernel k, expansion e, project groups g) or skip."""

    def __init__(self, cin, cout, stride, k=3, e=1, g=1, skip=False):
        super().__init__()
        self.residual = stride == 1 and cin == cout
        self.skip = skip
        if skip:
            self.f = nn.Identity() if self.residual else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            return
        h = cin * e
        layers = []
        if e != 1:
            layers += [nn.Conv2d(cin, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU()]
        layers += [nn.Conv2d(h, h, k, stride, k // 2, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU(),
                   nn.Conv2d(h, cout, 1, groups=g, bias=False), nn.BatchNorm2d(cout)]
        self.f = nn.Sequential(*layers)

    def forward(self, x):
        y = self.f(x)
        return y + x if self.residual and not self.skip else y


OPS = [(3, 1, 1), (3, 1, 2), (3, 3, 1), (3, 6, 1), (5, 1, 1), (5, 1, 2), (5, 3, 1), (5, 6, 1), None]
if mode == "single":
    OPS = [(3, 3, 1)]
CHANNELS, STRIDES = [16, 24, 24, 32, 32, 64], [1, 1, 1, 2, 1, 2]


class Supernet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.ModuleList()
        cin = 16
        for cout, s in zip(CHANNELS, STRIDES):
            self.blocks.append(nn.ModuleList(
                [Candidate(cin, cout, s, skip=True) if op is None else Candidate(cin, cout, s, *op) for op in OPS]))
            cin = cout
        self.head = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))

    def forward(self, x, path):
        x = self.stem(x)
        for block, o in zip(self.blocks, path):
            x = block[o](x)
        return self.head(x)


def draw_path():
    n = len(OPS)
    if mode == "global" or (mode == "mixedglobal" and random.random() < 0.5):
        return [random.randrange(n)] * 6
    if mode.startswith("corr"):
        q = float(mode[4:])
        path = [random.randrange(n)]
        for _ in range(5):
            path.append(path[-1] if random.random() < q else random.randrange(n))
        return path
    return [random.randrange(n) for _ in range(6)]


net = Supernet()
if opt_name == "adam":
    opt = torch.optim.Adam(net.parameters(), lr=lr)
else:
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.0 if opt_name == "plain" else 0.9, weight_decay=5e-4)
loss_fn = nn.CrossEntropyLoss()
order = torch.randperm(12800)
seen = correct = 0
loss_sum = 0.0
t0 = time.time()
for step in range(100):
    batch = order[step * 128:(step + 1) * 128]
    opt.zero_grad(set_to_none=True)
    out = net(X[batch], draw_path())
    loss = loss_fn(out, Y[batch])
    loss.backward()
    opt.step()
    loss_sum += loss.item()
    correct += (out.argmax(1) == Y[batch]).sum().item()
    seen += len(batch)
    if (step + 1) % 20 == 0:
        print(f"{mode} step {step + 1} loss {loss_sum / (step + 1):.4f} acc {correct / seen:.4f} {time.time() - t0:.0f}s", flush=True)
