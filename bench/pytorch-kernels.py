#!/usr/bin/env python3
# GFLOP/s of PyTorch's matmul and convolutions for the same products as bench/kernels.ts: square
# matmuls (256, 512, 1024) and the small CIFAR encoder's three conv2d layers at batch 256, each
# forward and backward (both gradients of sum(f(x, w) * g), so the same FLOPs as the project's
# VJP computes). The reference for the native GEMMs: run beside `npm run bench:kernels --
# --backends native` on the same machine and the same number of threads, and compare the lines
# by name. Median of several timed calls after a warm-up call. Not part of npm test.
#
#   python3 bench/pytorch-kernels.py [--runs 5] [--threads 2] [--quick]
#
# Written against Debian's python3-torch (1.13, oneDNN on the CPU); /usr/bin/python3 where
# another Python comes first on the PATH.

import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument('--runs', type=int, default=5)
parser.add_argument('--threads', type=int, default=os.cpu_count())
parser.add_argument('--quick', action='store_true')
flags = parser.parse_args()
torch.set_num_threads(flags.threads)


def value(*shape, seed):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=generator) - 0.5)


def matmul_cases(n):
    a, b, g = value(n, n, seed=1), value(n, n, seed=2), value(n, n, seed=3)

    def backward():
        p, q = a.clone().requires_grad_(), b.clone().requires_grad_()
        return torch.autograd.grad((p @ q * g).sum(), (p, q))

    return [(f'matmul {n} forward', 2 * n ** 3, lambda: a @ b), (f'matmul {n} backward', 4 * n ** 3, backward)]


def conv_cases(label, batch, c, o, size):
    x, w, g = value(batch, c, size, size, seed=1), value(o, c, 3, 3, seed=2), value(batch, o, size, size, seed=3)
    flops = 2 * batch * o * size * size * c * 9

    def backward():
        p, q = x.clone().requires_grad_(), w.clone().requires_grad_()
        return torch.autograd.grad((F.conv2d(p, q, padding=1) * g).sum(), (p, q))

    return [(f'conv2d {label} forward', flops, lambda: F.conv2d(x, w, padding=1)), (f'conv2d {label} backward', 2 * flops, backward)]


batch = 32 if flags.quick else 256
cases = [case for n in ([256] if flags.quick else [256, 512, 1024]) for case in matmul_cases(n)]
cases += conv_cases(f'3->32 32x32 batch {batch}', batch, 3, 32, 32)
cases += conv_cases(f'32->64 16x16 batch {batch}', batch, 32, 64, 16)
cases += conv_cases(f'64->128 8x8 batch {batch}', batch, 64, 128, 8)

figures = {}
for name, flops, run in cases:
    run()
    times = []
    for _ in range(flags.runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    figures[name] = round(flops / seconds / 1e9, 3)
    print(f'pytorch    {name:<36} {seconds * 1000:9.1f} ms  {figures[name]:7.2f} GFLOP/s  (torch {torch.__version__} on {flags.threads} threads, median of {flags.runs})')
print(json.dumps({'benchmark': 'pytorch-kernels', 'unit': 'GFLOP/s', 'runs': flags.runs, 'batch': batch, 'threads': flags.threads, 'torch': torch.__version__, 'figures': figures}))
