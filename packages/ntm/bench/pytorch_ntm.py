"""PyTorch peer for `pnpm bench`: the same NTM as @engram/ntm (LSTM controller, N x M memory,
1 read + 1 write head, content + location addressing, erase/add write), written the way
loudinthecloud/pytorch-ntm writes it, trained on the copy task. Prints one JSON line per
measurement: sequences per second of forward + backward + update.

usage: python3 pytorch_ntm.py BATCH MIN_LEN MAX_LEN SECONDS [THREADS]
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class NTM(nn.Module):
    def __init__(self, inputs=9, outputs=8, hidden=100, n=128, m=20, shifts=3):
        super().__init__()
        self.n, self.m, self.shifts = n, m, shifts
        self.lstm = nn.LSTMCell(inputs + m, hidden)
        self.read_len = m + 1 + 1 + shifts + 1
        self.write_len = self.read_len + 2 * m
        self.heads = nn.Linear(hidden, self.read_len + self.write_len)
        self.out = nn.Linear(hidden + m, outputs)
        self.register_buffer("memory0", torch.full((n, m), 1e-6))
        self.r0 = nn.Parameter(torch.randn(1, m) * 0.01)
        w0 = torch.zeros(2, n)
        w0[:, 0] = 10.0
        self.w0 = nn.Parameter(w0)

    def address(self, memory, w_prev, k, beta, g, s, gamma):
        k, beta, g = k, F.softplus(beta), torch.sigmoid(g)
        s, gamma = F.softmax(s, dim=1), 1 + F.softplus(gamma)
        sim = F.cosine_similarity(memory, k.unsqueeze(1), dim=2, eps=1e-8)
        wc = F.softmax(beta * sim, dim=1)
        wg = g * wc + (1 - g) * w_prev
        half = (self.shifts - 1) // 2
        ws = sum(s[:, j : j + 1] * torch.roll(wg, j - half, dims=1) for j in range(self.shifts))
        w = (ws + 1e-12) ** gamma
        return w / w.sum(dim=1, keepdim=True)

    def forward(self, x):  # x: [T, B, inputs]
        steps, batch, _ = x.shape
        memory = self.memory0.expand(batch, self.n, self.m)
        r = self.r0.expand(batch, self.m)
        w0 = F.softmax(self.w0, dim=1)
        wr, ww = w0[0].expand(batch, self.n), w0[1].expand(batch, self.n)
        h = torch.zeros(batch, self.lstm.hidden_size)
        c = torch.zeros(batch, self.lstm.hidden_size)
        outs = []
        for t in range(steps):
            h, c = self.lstm(torch.cat([x[t], r], dim=1), (h, c))
            p = torch.clamp(self.heads(h), -20, 20)
            rp, wp = p[:, : self.read_len], p[:, self.read_len :]
            m = self.m
            def split(q):
                return q[:, :m], q[:, m : m + 1], q[:, m + 1 : m + 2], q[:, m + 2 : m + 2 + self.shifts], q[:, m + 2 + self.shifts : m + 3 + self.shifts]
            wr = self.address(memory, wr, *split(rp))
            r = torch.bmm(wr.unsqueeze(1), memory).squeeze(1)
            ww = self.address(memory, ww, *split(wp))
            e = torch.sigmoid(wp[:, self.read_len : self.read_len + m])
            a = wp[:, self.read_len + m :]
            memory = memory * (1 - ww.unsqueeze(2) * e.unsqueeze(1)) + ww.unsqueeze(2) * a.unsqueeze(1)
            outs.append(self.out(torch.cat([h, r], dim=1)))
        return torch.stack(outs)


def copy_batch(gen, batch, min_len, max_len):
    length = int(torch.randint(min_len, max_len + 1, (1,), generator=gen))
    seq = torch.randint(0, 2, (length, batch, 8), generator=gen).float()
    x = torch.zeros(2 * length + 1, batch, 9)
    x[:length, :, :8] = seq
    x[length, :, 8] = 1
    return x, seq, length


def main():
    batch, min_len, max_len, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if len(sys.argv) > 5:
        torch.set_num_threads(int(sys.argv[5]))
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    model = NTM()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-4, momentum=0.9, alpha=0.95)
    def step():
        x, target, length = copy_batch(gen, batch, min_len, max_len)
        opt.zero_grad()
        y = model(x)[length + 1 :]
        loss = F.binary_cross_entropy_with_logits(y, target, reduction="sum") / batch
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 10)
        opt.step()
    for _ in range(3):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += batch
    elapsed = time.perf_counter() - start
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch,
                      "lengths": [min_len, max_len], "sequences": done, "seconds": elapsed, "sequences_per_second": done / elapsed,
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
