#!/usr/bin/env python3
# The reference for bench/step.ts: the same training step in PyTorch on the CPU, timed the same
# way (a warm-up, then the median of several steps), so that the two can be run side by side
# on one machine (bench/versus-pytorch.sh alternates them). Model only: the views are random
# images made before each step, untimed, so the figure is to be set beside bench:step's
# model_only_instances_per_second; its instances_per_second also pays for the augmentation.
#
#   python3 bench/pytorch-step.py [--batch 128] [--steps 5] [--warm-up 2] [--threads 2] [--device cuda]
#
# Debian's python3-torch (1.13) is what it was written against: `apt-get install python3-torch`,
# then run it with /usr/bin/python3 where another Python comes first on the PATH. The project's
# tests never need it.
#
# The same computation as the project's, piece by piece:
#  - the small CIFAR encoder (lib/nn/small-cifar-encoder.ts): three stages of a 3x3 convolution
#    without bias, batch norm (momentum 0.1, epsilon 1e-5), 2x2 max pooling and ReLU, widths
#    32, 64, 128; global average pooling, a linear layer to 128 features, L2 normalisation;
#    PyTorch's default initialisation of the convolutions is the project's (uniform in
#    +-1/sqrt(fan-in)), the linear layer's bias starts at zero as the project's does;
#  - the invariant-spreading loss (lib/objectives/invariant-spreading.ts), temperature 0.1,
#    negative weight 1, scores against detached targets, log(1 - softmax) in the same two forms;
#  - SGD with learning rate 0.03, momentum 0.9 and weight decay 5e-4 on every parameter.
# The last line is one JSON object, as bench/step.ts prints.

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser(description='The training step of bench/step.ts in PyTorch, model only.')
parser.add_argument('--batch', type=int, default=128, help='instances a step; the step encodes two views of each')
parser.add_argument('--steps', type=int, default=5, help='timed steps; the figure is their median')
parser.add_argument('--warm-up', type=int, default=2, help='untimed steps first')
parser.add_argument('--threads', type=int, default=2, help='torch.set_num_threads')
parser.add_argument('--encoder', default='small', choices=['small', 'resnet18'], help="resnet18: torchvision's, with the CIFAR stem (for the GPU's comparison)")
parser.add_argument('--device', default='cpu', help="'cpu', or 'cuda' for the GPU side of bench/gpu.sh's comparison")
flags = parser.parse_args()
device = torch.device(flags.device)

torch.set_num_threads(flags.threads)
torch.manual_seed(0)


class SmallCifarEncoder(nn.Module):
    def __init__(self, widths=(32, 64, 128), feature_dimension=128, in_channels=3):
        super().__init__()
        stages = []
        for i, width in enumerate(widths):
            stages += [
                nn.Conv2d(in_channels if i == 0 else widths[i - 1], width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width, eps=1e-5, momentum=0.1),
                # Pooled before the ReLU, as the project's encoder (the same function).
                nn.MaxPool2d(2),
                nn.ReLU(),
            ]
        self.stages = nn.Sequential(*stages)
        self.projection = nn.Linear(widths[-1], feature_dimension)
        # The project's linear layer starts its bias at zero (its weight as PyTorch's).
        nn.init.zeros_(self.projection.bias)

    def forward(self, images):
        pooled = self.stages(images).mean(dim=(2, 3))
        return F.normalize(self.projection(pooled), dim=1, eps=1e-12)


class ResNet18Cifar(nn.Module):
    # As lib/nn/resnet18-cifar.ts: torchvision's ResNet18 with a 3x3 stride-1 stem to 64 channels
    # and no max pool, a linear layer to 128 features, L2 normalisation.
    def __init__(self, feature_dimension=128):
        super().__init__()
        import torchvision  # only here: the CPU comparison needs only torch
        self.network = torchvision.models.resnet18(num_classes=feature_dimension)
        self.network.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.network.maxpool = nn.Identity()
        nn.init.zeros_(self.network.fc.bias)

    def forward(self, images):
        return F.normalize(self.network(images), dim=1, eps=1e-12)


EXCLUDED_LOGIT = -1e30


def log_one_minus_softmax(logits):
    # As lib/objectives/log-one-minus-softmax.ts: log1p(-p) where p <= 1/2, and for the one entry
    # of a row that may hold more, the log-sum-exp of the row without it minus the row's.
    probability = logits.softmax(dim=-1)
    dominant = probability > 0.5
    of_dominant = torch.logsumexp(logits.masked_fill(dominant, EXCLUDED_LOGIT), -1, keepdim=True) - torch.logsumexp(logits, -1, keepdim=True)
    of_the_rest = torch.log1p(-probability.masked_fill(dominant, 0))
    return torch.where(dominant, of_dominant, of_the_rest)


def invariant_spreading_loss(features, temperature=0.1, negative_weight=1.0):
    rows = features.shape[0]
    m = rows // 2
    eye = torch.eye(rows, dtype=torch.bool, device=features.device)
    positive = torch.roll(eye, m, dims=1)
    negative = ~(eye | positive)
    logits = (features @ features.detach().t() / temperature).masked_fill(eye, EXCLUDED_LOGIT)
    log_positive = logits.log_softmax(dim=-1)[positive].sum()
    log_not_negative = log_one_minus_softmax(logits)[negative].sum()
    return -(log_positive + negative_weight * log_not_negative) / (2 * m)


encoder = (SmallCifarEncoder() if flags.encoder == 'small' else ResNet18Cifar()).to(device)
encoder.train()
optimizer = torch.optim.SGD(encoder.parameters(), lr=0.03, momentum=0.9, weight_decay=5e-4)


def step(views):
    optimizer.zero_grad(set_to_none=True)
    loss = invariant_spreading_loss(encoder(views))
    loss.backward()
    optimizer.step()
    return loss.item()


def views():
    # Two views of each instance, already made: [2N, 3, 32, 32] in [0, 1], first views then second views.
    return torch.rand(2 * flags.batch, 3, 32, 32, device=device)


def synchronize():
    # A GPU runs the step asynchronously; loss.item() waits for the loss, this for the update too.
    if device.type == 'cuda':
        torch.cuda.synchronize()


for w in range(flags.warm_up):
    start = time.perf_counter()
    loss = step(views())
    print(f'warm-up step {w + 1}: {time.perf_counter() - start:.2f} s, loss {loss:.4f}', flush=True)
times = []
for s in range(flags.steps):
    batch_views = views()
    synchronize()
    start = time.perf_counter()
    cpu_start = time.process_time()
    loss = step(batch_views)
    synchronize()
    times.append(time.perf_counter() - start)
    # CPU time of every thread of the process, as bench/step.ts prints it.
    print(f'step {s + 1}: {times[-1]:.2f} s, {time.process_time() - cpu_start:.2f} s of CPU time, loss {loss:.4f}', flush=True)
# The upper median for an even count, as bench/step.ts takes it.
seconds = sorted(times)[len(times) // 2]
on = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} threads (mkldnn {"on" if torch.backends.mkldnn.is_available() else "off"})'
print(f'PyTorch {torch.__version__}, {on}, model only')
print(f'{flags.encoder} encoder, batch 2 x {flags.batch}: {flags.batch / seconds:.2f} instances/s ({2 * flags.batch / seconds:.2f} views/s), median of {flags.steps} steps')
print(json.dumps({
    'benchmark': 'pytorch-step', 'encoder': flags.encoder, 'instances_per_second': round(flags.batch / seconds, 3), 'model_only': True,
    'batch': flags.batch, 'steps': flags.steps, 'seconds_per_step': round(seconds, 3), 'threads': torch.get_num_threads(),
    'device': on, 'torch': torch.__version__,
}))
