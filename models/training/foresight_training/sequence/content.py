"""The content tower (item content -> item-embedding space, exported as content.onnx), and its fit
to the learned item vectors. The main objective is the situation cold items face at serving time:
in every batch a random quarter of the catalogue is scored by its content vectors and the rest by
their learned vectors, and each user state must rank its next item first among all of them. A small
MSE to the learned vectors keeps the tower in the same region of the space. (Always scoring the
target by its content vector, against learned vectors only, made the tower inflate every content
vector: cold items then outranked warm ones for every user.)"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import TEXT_HASH_BUCKETS
from .encoder import NEG, Linear, masked_mean, matmul_t

PRICE_BANDS_UPPER = [5, 10, 20, 50, 100, 200, 500]
COLD_SHARE = 0.25


class ContentTower(nn.Module):
    """Item content (attributes, hashed text tokens, price band) -> item-embedding space."""

    def __init__(self, num_attrs, dim=64, text_buckets=TEXT_HASH_BUCKETS, price_bands=len(PRICE_BANDS_UPPER) + 2):
        super().__init__()
        self.attr_emb = nn.Embedding(num_attrs + 1, dim, padding_idx=0)
        self.text_emb = nn.Embedding(text_buckets + 1, dim, padding_idx=0)
        self.price_emb = nn.Embedding(price_bands, dim, padding_idx=0)
        nn.init.normal_(self.text_emb.weight, std=0.02)
        with torch.no_grad():
            self.text_emb.weight[0].zero_()
            self.price_emb.weight.zero_()
        self.mlp = nn.Sequential(Linear(dim, 2 * dim), nn.GELU(), Linear(2 * dim, dim))
        self.skip = Linear(dim, dim)

    def forward(self, attr_ids, text_tokens, price_band):
        h = masked_mean(self.attr_emb(attr_ids), attr_ids)
        h = h + masked_mean(self.text_emb(text_tokens), text_tokens) + self.price_emb(price_band)
        return self.skip(h) + self.mlp(h)


def content_inputs(item_attrs, ids, item_text=None):
    """Content-tower inputs for model items: their attributes, their title tokens where the data
    has titles (`item_text`, Dataset.item_text as a tensor), price unknown (Amazon)."""
    attrs = item_attrs[ids]
    text = item_text[ids] if item_text is not None else torch.zeros(len(ids), 1, dtype=torch.long)
    return attrs, text, torch.zeros(len(ids), dtype=torch.long)


def train_content(enc, user_state_pairs, trainable_items, args, log=print, item_text=None):
    """user_state_pairs: (user states [P, d], target item ids [P]) from training sequences;
    trainable_items: item indices whose learned vectors the tower may see (held-out items excluded);
    item_text: the items' title tokens (Dataset.item_text) or None."""
    text = torch.as_tensor(item_text) if item_text is not None else None
    torch.manual_seed(args.seed)
    tower = ContentTower(enc.num_attrs, enc.dim)
    with torch.no_grad():
        tower.attr_emb.weight.copy_(enc.attr_emb.weight)
    V = enc.item_vectors().detach()
    U, T = user_state_pairs
    items = torch.as_tensor(trainable_items, dtype=torch.long)
    opt = torch.optim.Adam(tower.parameters(), lr=1e-3)
    rng = np.random.default_rng(args.seed)
    scale = V[items].pow(2).sum(1).mean()
    for epoch in range(args.content_epochs):
        perm = torch.from_numpy(rng.permutation(len(T)))
        total, n = 0.0, 0
        for b in range(0, len(perm), 512):
            idx = perm[b:b + 512]
            u, t = U[idx], T[idx]
            # a random quarter of the catalogue plays "cold" in this batch: those items are scored
            # by their content vectors, all others by their learned ones, and every row ranks its
            # target among all of them. Content vectors are negatives far more often than
            # positives, as at serving time, so inflating them does not pay.
            cold = torch.from_numpy(rng.random(V.shape[0]) < COLD_SHARE)
            cold[0] = False
            cold_ids = cold.nonzero().squeeze(1)
            cv = tower(*content_inputs(enc.item_attrs, cold_ids, text))
            logits = matmul_t(u, V).masked_fill(cold.unsqueeze(0), 0.0)
            logits = logits.index_put((torch.arange(len(u)).unsqueeze(1), cold_ids.unsqueeze(0)),
                                      matmul_t(u, cv))
            logits[:, 0] = NEG
            ce = F.cross_entropy(logits, t)
            c = tower(*content_inputs(enc.item_attrs, t, text))
            mse = (c - V[t]).pow(2).sum(1).mean() / scale
            it = items[torch.from_numpy(rng.integers(0, len(items), 512))]
            mse_items = (tower(*content_inputs(enc.item_attrs, it, text)) - V[it]).pow(2).sum(1).mean() / scale
            loss = ce + 0.1 * (mse + mse_items)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            n += 1
        log(f"content epoch {epoch + 1} loss {total / max(n, 1):.4f}", flush=True)
    tower.eval()
    return tower
