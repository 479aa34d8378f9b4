"""PyTorch peer for `pnpm bench`: the same DNC as @engram/dnc (deepmind/dnc's access module ported to
PyTorch: LSTM controller, usage with free gates, allocation through a sort and an exclusive cumulative
product, write weighting, temporal link matrix and precedence, read modes; outputs clipped to +-20),
trained with RMSProp (eps 1e-10) and the global gradient norm clipped to 50, on batches of the shape
the Engram side trains on. Prints one JSON line: sequences per second of forward + backward + update.

usage: python3 pytorch_dnc.py BATCH STEPS INPUTS OUTPUTS SCORED SECONDS [THREADS]
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-6


def oneplus(x):
    return 1 + F.softplus(x)


class DNC(nn.Module):
    def __init__(self, inputs, outputs, hidden=64, n=16, w=16, reads=4, clip=20.0):
        super().__init__()
        self.n, self.w, self.r, self.clip = n, w, reads, clip
        self.lstm = nn.LSTMCell(inputs + reads * w, hidden)
        # read keys, read strengths, write key, write strength, erase, write vector, free gates, alloc gate, write gate, read modes
        self.sizes = [reads * w, reads, w, 1, w, w, reads, 1, 1, reads * 3]
        self.interface = nn.Linear(hidden, sum(self.sizes))
        self.out = nn.Linear(hidden + reads * w, outputs)

    def content(self, memory, keys, strengths):  # keys [B, H, W], strengths [B, H]
        sim = F.cosine_similarity(memory.unsqueeze(1), keys.unsqueeze(2), dim=3, eps=1e-8)
        return F.softmax(sim * strengths.unsqueeze(2), dim=2)

    def allocation(self, usage):
        usage = EPS + (1 - EPS) * usage
        sorted_usage, order = torch.sort(usage, dim=1, stable=True)
        prod = torch.cumprod(torch.cat([torch.ones_like(sorted_usage[:, :1]), sorted_usage[:, :-1]], dim=1), dim=1)
        sorted_alloc = (1 - sorted_usage) * prod
        return torch.zeros_like(usage).scatter(1, order, sorted_alloc)

    def forward(self, x):  # x: [T, B, inputs]
        steps, batch, _ = x.shape
        n, w, r = self.n, self.w, self.r
        memory = torch.zeros(batch, n, w)
        usage = torch.zeros(batch, n)
        link = torch.zeros(batch, n, n)
        precedence = torch.zeros(batch, n)
        read_w = torch.zeros(batch, r, n)
        write_w = torch.zeros(batch, n)
        reads = torch.zeros(batch, r * w)
        h = torch.zeros(batch, self.lstm.hidden_size)
        c = torch.zeros(batch, self.lstm.hidden_size)
        no_self = 1 - torch.eye(n)
        outs = []
        for t in range(steps):
            h, c = self.lstm(torch.cat([x[t], reads], dim=1), (h, c))
            hidden = torch.clamp(h, -self.clip, self.clip)
            parts = torch.split(self.interface(hidden), self.sizes, dim=1)
            rk, rs, wk, ws, erase, vec, free, ga, gw, modes = parts
            rk, rs = rk.view(batch, r, w), oneplus(rs)
            wk, ws = wk.view(batch, 1, w), oneplus(ws)
            erase, free, ga, gw = torch.sigmoid(erase), torch.sigmoid(free), torch.sigmoid(ga), torch.sigmoid(gw)
            modes = F.softmax(modes.view(batch, r, 3), dim=2)
            psi = torch.prod(1 - free.unsqueeze(2) * read_w, dim=1)
            usage = (usage + (1 - usage) * write_w) * psi
            alloc = self.allocation(usage)
            write_w = gw * (ga * alloc + (1 - ga) * self.content(memory, wk, ws).squeeze(1))
            memory = memory * (1 - write_w.unsqueeze(2) * erase.unsqueeze(1)) + write_w.unsqueeze(2) * vec.unsqueeze(1)
            link = ((1 - write_w.unsqueeze(2) - write_w.unsqueeze(1)) * link + write_w.unsqueeze(2) * precedence.unsqueeze(1)) * no_self
            precedence = (1 - write_w.sum(1, keepdim=True)) * precedence + write_w
            forward_w = torch.bmm(read_w, link.transpose(1, 2))
            backward_w = torch.bmm(read_w, link)
            content_w = self.content(memory, rk, rs)
            read_w = modes[:, :, 0:1] * backward_w + modes[:, :, 1:2] * forward_w + modes[:, :, 2:3] * content_w
            reads = torch.bmm(read_w, memory).reshape(batch, r * w)
            outs.append(torch.clamp(self.out(torch.cat([hidden, reads], dim=1)), -self.clip, self.clip))
        return torch.stack(outs)


def main():
    batch, steps, inputs, outputs, scored = (int(a) for a in sys.argv[1:6])
    seconds = float(sys.argv[6])
    if len(sys.argv) > 7:
        torch.set_num_threads(int(sys.argv[7]))
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    model = DNC(inputs, outputs)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-4, eps=1e-10, alpha=0.9)

    def step():
        x = torch.randint(0, 2, (steps, batch, inputs), generator=gen).float()
        target = torch.randint(0, 2, (scored, batch, outputs), generator=gen).float()
        opt.zero_grad()
        y = model(x)[steps - scored :]
        loss = F.binary_cross_entropy_with_logits(y, target, reduction="sum") / batch
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50)
        opt.step()

    for _ in range(3):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += batch
    elapsed = time.perf_counter() - start
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch, "steps": steps,
                      "sequences": done, "seconds": elapsed, "sequences_per_second": done / elapsed,
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
