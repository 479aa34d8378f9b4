"""A PyTorch MemN2N of the same shape as Engram's, for the speed comparison in bench/run.mjs.

Reads the batches Engram encodes (a JSON file: token ids, position-encoding weights, masks and
answers per batch, so both train on identical data), builds the same model (K hops, adjacent weight
tying, position + temporal encoding through one embedding table per hop, answer matrix W = C^K
transposed, summed cross-entropy, SGD with gradient-norm clipping 40 per weight matrix) and times epochs over them.
Prints one JSON line: {"epochs_per_second": ..., "epochs": ..., "seconds": ...}.

Run with Debian's python3-torch: /usr/bin/python3 pytorch_memn2n.py batches.json EPOCHS
"""
import json
import sys
import time

import torch

torch.manual_seed(1)


def main() -> None:
    path, epochs = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        spec = json.load(f)
    rows, vocab, d, hops = spec["rows"], spec["vocabulary"], spec["embedding"], spec["hops"]
    batches = []
    for b in spec["batches"]:
        size, slots, words, qwords = b["size"], b["slots"], b["memoryWords"], b["queryWords"]
        # Engram picks each token's position-encoding vector from a small table; here it is expanded once, outside the timing.
        table = torch.tensor(b["weights"], dtype=torch.float32).view(b["weightRows"], d)
        batches.append(
            (
                torch.tensor(b["memoryTokens"], dtype=torch.long).view(size, slots, words),
                table[torch.tensor(b["memoryWeightRows"], dtype=torch.long)].view(size, slots, words, d),
                torch.tensor(b["mask"], dtype=torch.bool).view(size, slots),
                torch.tensor(b["queryTokens"], dtype=torch.long).view(size, qwords),
                table[torch.tensor(b["queryWeightRows"], dtype=torch.long)].view(size, qwords, d),
                torch.tensor(b["answers"], dtype=torch.long),
            )
        )
    tables = [torch.nn.Parameter(torch.randn(rows, d) * 0.1) for _ in range(hops + 1)]
    optimizer = torch.optim.SGD(tables, lr=0.005)

    def forward(memory, memory_weights, mask, query, query_weights):
        u = (tables[0][query] * query_weights).sum(1)
        encoded = [(table[memory] * memory_weights).sum(2) for table in tables]
        for k in range(hops):
            scores = torch.bmm(encoded[k], u.unsqueeze(2)).squeeze(2)
            p = torch.softmax(scores.masked_fill(~mask, -1e9), dim=1)
            u = u + torch.bmm(p.unsqueeze(1), encoded[k + 1]).squeeze(1)
        return u @ tables[hops][:vocab].t()

    def epoch() -> None:
        for memory, memory_weights, mask, query, query_weights, answers in batches:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(forward(memory, memory_weights, mask, query, query_weights), answers, reduction="sum")
            loss.backward()
            for table in tables:  # per weight matrix, as the official code and Engram clip
                torch.nn.utils.clip_grad_norm_([table], 40.0)
            optimizer.step()

    epoch()  # warm-up
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    seconds = time.perf_counter() - start
    print(json.dumps({"epochs_per_second": epochs / seconds, "epochs": epochs, "seconds": seconds, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
