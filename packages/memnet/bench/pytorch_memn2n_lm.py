"""The PyTorch peer of @engram/memnet's language-model benchmark: the MemN2N language model of
Sukhbaatar et al. 2015 (section 5) with the same shape as Engram's (V words, d = 150, 7 hops, memory of
200 words with temporal encoding, constant query 0.1, layer-wise tying, ReLU on half the units, no
biases), trained on the same positions of the same word ids: cross-entropy summed over a batch of
128, global gradient norm <= 50, SGD lr 0.01.
Prints one JSON line: tokens per second, threads, torch version.
Usage: python3 pytorch_memn2n_lm.py IDS_FILE POSITIONS_FILE STEPS THREADS VOCABULARY"""
import json
import sys
import time

import torch
import torch.nn as nn

ids_file, positions_file, steps, threads, V = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(1)
D, HOPS, N, B, LIN = 150, 7, 200, 128, 75
with open(ids_file) as f:
    ids = torch.tensor(json.load(f), dtype=torch.long)
with open(positions_file) as f:
    positions = torch.tensor(json.load(f), dtype=torch.long).view(-1, B)


class MemN2NLM(nn.Module):
    def __init__(self):
        super().__init__()
        # Word rows then one time row per age, as Engram's tables.
        self.A = nn.Embedding(V + N, D)
        self.C = nn.Embedding(V + N, D)
        self.H = nn.Linear(D, D, bias=False)
        self.W = nn.Linear(D, V, bias=False)
        for p in self.parameters():
            nn.init.normal_(p, 0, 0.05)

    def forward(self, context):  # context [B, N] word ids, oldest first
        ages = torch.arange(N - 1, -1, -1).expand(context.shape[0], N) + V
        m = self.A(context) + self.A(ages)
        c = self.C(context) + self.C(ages)
        u = torch.full((context.shape[0], D), 0.1)
        for _ in range(HOPS):
            p = torch.softmax(torch.bmm(m, u.unsqueeze(2)).squeeze(2), dim=1)
            o = torch.bmm(p.unsqueeze(1), c).squeeze(1)
            u = self.H(u) + o
            u = torch.cat([u[:, :LIN], torch.relu(u[:, LIN:])], dim=1)
        return self.W(u)


model = MemN2NLM()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss(reduction="sum")
offsets = torch.arange(-N, 0)


def train(first, count):
    for i in range(first, first + count):
        t = positions[i % positions.shape[0]]
        context = ids[t.unsqueeze(1) + offsets]
        loss = loss_fn(model(context), ids[t])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()


train(0, 2)  # warm-up
start = time.perf_counter()
train(2, steps)
seconds = time.perf_counter() - start
print(json.dumps({"tokens_per_second": steps * B / seconds, "threads": threads, "torch": torch.__version__}))
