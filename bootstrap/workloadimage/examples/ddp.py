"""PyTorch DistributedDataParallel on CPU (gloo), set up from ferry's env:
WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT.

Each rank all-reduces (rank + 1) and prints the sum, which every rank must
agree on (WORLD_SIZE * (WORLD_SIZE + 1) / 2), then trains a small linear
model with DDP for a few steps and prints the final loss and a checksum of
the weights (equal on every rank, since DDP keeps replicas in step).
"""
import argparse
import os
import socket
import time

import torch
import torch.distributed as dist


def wait_for(host, seconds=180):
    # rank 0's DNS name appears once its pod has an address
    deadline = time.time() + seconds
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "eth0")
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    addr = wait_for(os.environ["MASTER_ADDR"])
    print(f"rank={rank} world={world} master={os.environ['MASTER_ADDR']} ({addr}):{os.environ['MASTER_PORT']}", flush=True)
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    print(f"rank={rank} allreduce={t.item():g}", flush=True)

    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(1000 + rank)  # each rank its own data
    w_true = torch.arange(8, dtype=torch.float32).unsqueeze(1) / 8
    for _ in range(args.steps):
        x = torch.randn(64, 8, generator=gen)
        loss = torch.nn.functional.mse_loss(model(x), x @ w_true)
        opt.zero_grad()
        loss.backward()
        opt.step()
    checksum = sum(p.detach().sum().item() for p in model.parameters())
    print(f"rank={rank} loss={loss.item():.4f} weights={checksum:.6f}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
