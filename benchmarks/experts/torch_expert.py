"""An expert's PyTorch training of the benchmark models, written by hand: the data resident
on the device as NCHW tensors, a permutation per epoch, nn.Sequential, torch.optim with
foreach updates; on a GPU channels_last memory and cudnn.benchmark as well."""

from __future__ import annotations

import numpy as np
import torch
from common import Clock, arguments, mnist, record
from torch import nn


def build(model: str) -> tuple[nn.Module, type, dict]:
    if model == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
        )  # fmt: skip
        return net, torch.optim.Adam, {"lr": 1e-3}
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.Sigmoid(), nn.Linear(200, 10))
    return net, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    torch.manual_seed(42)
    (x, y), (xt, yt) = mnist(args.samples)
    x = torch.as_tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), device=device)
    xt = torch.as_tensor(np.ascontiguousarray(xt.transpose(0, 3, 1, 2)), device=device)
    y, yt = torch.as_tensor(y, device=device), torch.as_tensor(yt, device=device)
    net, optim, hyper = build(args.model)
    net = net.to(device)
    if cuda:
        torch.backends.cudnn.benchmark = True
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = optim(
        net.parameters(), **hyper, **({"fused": True} if cuda else {"foreach": True})
    )
    loss_fn = nn.CrossEntropyLoss()
    clock = Clock()
    for _ in range(args.epochs):
        net.train()
        order = torch.randperm(len(x), device=device)
        started = clock.epoch()
        for i in range(0, len(x), args.batch_size):
            batch = order[i : i + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(x[batch]), y[batch]).backward()
            optimizer.step()
            if i == 0:
                if cuda:
                    torch.cuda.synchronize()
                started = clock.after_first_step(started) if clock.first_step is None else started
        if cuda:
            torch.cuda.synchronize()
        clock.end_epoch(started)
    net.eval()
    with torch.inference_mode():
        correct = sum(
            int((net(xt[i : i + 1000]).argmax(1) == yt[i : i + 1000]).sum())
            for i in range(0, len(xt), 1000)
        )
    record(args, "expert-torch", clock, len(x), correct / len(xt))


if __name__ == "__main__":
    main()
