"""The PyTorch peer of @engram/lm's benchmark: Zaremba et al.'s `small` LSTM language model (2 x 200,
10,000 words, batch 20, unroll 20, SGD lr 1, gradient norm <= 5, no dropout), trained on the same
word ids for the same number of windows, hidden state carried between windows (truncated BPTT).
Prints one JSON line: tokens per second, threads, and the BLAS PyTorch was built against.
Usage: python3 pytorch_lstm_lm.py IDS_FILE STEPS THREADS"""
import json
import sys
import time

import torch
import torch.nn as nn

ids_file, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(1)
V, H, B, T = 10000, 200, 20, 20
with open(ids_file) as f:
    ids = torch.tensor(json.load(f), dtype=torch.long)
n = ids.numel() // B
streams = ids[: n * B].view(B, n).t().contiguous()  # [n, B]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, H)
        self.lstm = nn.LSTM(H, H, num_layers=2)
        self.out = nn.Linear(H, V)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, x, state):
        h, state = self.lstm(self.embedding(x), state)
        return self.out(h), state


model = Model()
optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
loss_fn = nn.CrossEntropyLoss()


def window(i):
    start = (i * T) % (n - T - 1)
    return streams[start : start + T], streams[start + 1 : start + T + 1]


def train(count, state):
    for i in range(count):
        x, y = window(i)
        state = tuple(s.detach() for s in state)
        logits, state = model(x, state)
        loss = loss_fn(logits.view(-1, V), y.reshape(-1)) * T  # summed over time, mean over the batch
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return state


state = (torch.zeros(2, B, H), torch.zeros(2, B, H))
state = train(3, state)  # warm-up
start = time.perf_counter()
train(steps, state)
seconds = time.perf_counter() - start
# Debian builds PyTorch against the generic BLAS interface (libblas.so.3); which library answers it, and which
# OpenBLAS kernel, is read from the loaded library.
blas = "libblas.so.3 (BLAS_INFO=generic)"
try:
    import ctypes

    openblas = ctypes.CDLL("libopenblas.so.0")
    openblas.openblas_get_corename.restype = ctypes.c_char_p
    blas = "OpenBLAS, core " + openblas.openblas_get_corename().decode()
except OSError:
    pass
print(json.dumps({"tokens_per_second": steps * B * T / seconds, "threads": torch.get_num_threads(), "blas": blas, "torch": torch.__version__}))
