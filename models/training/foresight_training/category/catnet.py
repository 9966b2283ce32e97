"""catnet: a small GRU over the input's items and categories whose next-category distribution mixes
a generated softmax with a copy of the input's own categories (a shopper returning to a category
of the last events is the commonest move), gated per step. Exported to ONNX (catnet.onnx):
inputs `item_ids` and `category_ids` [B, L] int64 (no padding: one row per length), output
`category_probs` [B, C + 1] for the step after the last event (index 0, the padding, is 0)."""
import time

import numpy as np
import torch
from torch import nn

from ..sequence.encoder import matmul_t

MAX_EVENTS = 50
UNKNOWN_ITEM = 1  # items seen fewer than MIN_ITEM_COUNT times in training; 0 is padding
MIN_ITEM_COUNT = 2


class CatNet(nn.Module):
    def __init__(self, num_items, num_categories, dim=48):
        super().__init__()
        self.C = num_categories + 1
        self.item = nn.Embedding(num_items + 2, dim, padding_idx=0)
        self.cat = nn.Embedding(self.C, dim, padding_idx=0)
        self.gru = nn.GRU(2 * dim, dim, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.gen = nn.Linear(dim, self.C)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(3 * dim, dim)
        self.gate = nn.Linear(dim, 1)

    def steps(self, items, cats):
        """Next-category probabilities after every step: [B, L, C]."""
        x = torch.cat([self.item(items), self.cat(cats)], dim=-1)
        h, _ = self.gru(self.drop(x))
        h = self.drop(h)
        B, L, D = h.shape
        # matmul_t: Debian's reference BLAS is slow; the wide product goes through oneDNN
        gen = torch.softmax((matmul_t(h.reshape(B * L, D), self.gen.weight) + self.gen.bias).reshape(B, L, -1), dim=-1)
        keys = self.key(torch.cat([x, h], dim=-1))  # [B, L, D]
        att = torch.matmul(self.query(h), keys.transpose(1, 2)) / keys.shape[-1] ** 0.5  # [B, Lq, Lk]
        causal = torch.ones(L, L, dtype=torch.bool, device=items.device).tril()
        valid = causal.unsqueeze(0) & (cats != 0).unsqueeze(1)
        att = torch.softmax(att.masked_fill(~valid, -1e9), dim=-1)
        if torch.onnx.is_in_onnx_export():
            onehot = (cats.unsqueeze(-1) == torch.arange(self.C, device=cats.device)).float()  # [B, L, C]
            copy = torch.matmul(att, onehot)
        else:  # the same sum, without the [B, L, C] one-hot product
            copy = torch.zeros(B, L, self.C).scatter_add_(2, cats.unsqueeze(1).expand(B, L, L), att)
        g = torch.sigmoid(self.gate(h))
        p = g * gen + (1 - g) * copy
        return p * (torch.arange(self.C, device=cats.device) != 0).float()

    def forward(self, items, cats):
        return self.steps(items, cats)[:, -1, :]


def item_vocabulary(train):
    counts = {}
    for seq in train:
        for i, _, _ in seq:
            counts[i] = counts.get(i, 0) + 1
    kept = sorted(i for i, n in counts.items() if n >= MIN_ITEM_COUNT)
    return {i: k + 2 for k, i in enumerate(kept)}


def encode_items(vocab, items):
    return [vocab.get(i, UNKNOWN_ITEM) for i in items]


def _batches(seqs, batch, rng):
    """Batches of sequences of similar length (little padding), in random order."""
    order = sorted(rng.permutation(len(seqs)), key=lambda k: len(seqs[k][0]))
    starts = rng.permutation(range(0, len(order), batch))
    for s in starts:
        rows = [seqs[k] for k in order[s:s + batch]]
        L = max(len(r[0]) for r in rows)
        items = np.zeros((len(rows), L), np.int64)
        cats = np.zeros((len(rows), L), np.int64)
        for b, (it, ct) in enumerate(rows):
            items[b, :len(it)] = it
            cats[b, :len(ct)] = ct
        yield torch.from_numpy(items), torch.from_numpy(cats)


def predict(model, vocab, targets, batch=256):
    """The distribution after each target's input: np.array [N, C]."""
    model.eval()
    out = np.zeros((len(targets), model.C), np.float32)
    by_len = {}
    for k, t in enumerate(targets):
        by_len.setdefault(min(len(t.cats), MAX_EVENTS), []).append(k)
    with torch.no_grad():
        for L, ks in by_len.items():
            for s in range(0, len(ks), batch):
                part = ks[s:s + batch]
                items = torch.tensor([encode_items(vocab, targets[k].items[-L:]) for k in part])
                cats = torch.tensor([targets[k].cats[-L:] for k in part])
                out[part] = model(items, cats).numpy()
    return out


def train(tasks, valid, dim=48, epochs=8, lr=3e-3, batch=128, seed=0, patience=2, max_sequences=0, log=print):
    """Trains on every prefix of the training sequences (last MAX_EVENTS events; at most
    `max_sequences` of them, drawn at random, when > 0); keeps the epoch with the lowest log loss
    on `valid` targets."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vocab = item_vocabulary(tasks.train)
    seqs = [(encode_items(vocab, [i for i, _, _ in s[-MAX_EVENTS - 1:]]), [c for _, c, _ in s[-MAX_EVENTS - 1:]])
            for s in tasks.train if len(s) >= 2]
    if 0 < max_sequences < len(seqs):
        seqs = [seqs[k] for k in rng.choice(len(seqs), max_sequences, replace=False)]
    model = CatNet(len(vocab), tasks.num_categories, dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    vt = np.array([t.target for t in valid])
    best, best_state, bad, history = np.inf, None, 0, []
    for epoch in range(epochs):
        model.train()
        t0, total, n = time.time(), 0.0, 0
        for items, cats in _batches(seqs, batch, rng):
            p = model.steps(items[:, :-1], cats[:, :-1])
            target = cats[:, 1:]
            mask = target != 0
            nll = -torch.log(p.gather(-1, target.unsqueeze(-1)).squeeze(-1).clamp_min(1e-9))
            loss = (nll * mask).sum() / mask.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * int(mask.sum())
            n += int(mask.sum())
        probs = predict(model, vocab, valid)
        vll = float(-np.log(np.maximum(probs[np.arange(len(vt)), vt], 1e-12)).mean())
        vtop1 = float((probs.argmax(1) == vt).mean())
        history.append({"epoch": epoch + 1, "trainLoss": total / n, "validLogLoss": vll, "validTop1": vtop1})
        log(f"catnet epoch {epoch + 1}: train {total / n:.4f} valid log loss {vll:.4f} top-1 {vtop1:.4f} ({time.time() - t0:.0f}s)")
        if vll < best:
            best, bad = vll, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, vocab, history


def export(model, path):
    model.eval()
    items = torch.tensor([[2, 3, 1]])
    cats = torch.tensor([[1, 2, 1]])
    torch.onnx.export(model, (items, cats), path, input_names=["item_ids", "category_ids"],
                      output_names=["category_probs"], opset_version=17,
                      dynamic_axes={"item_ids": {0: "batch", 1: "length"}, "category_ids": {0: "batch", 1: "length"},
                                    "category_probs": {0: "batch"}})
