"""Fits the content tower to the learned item vectors: MSE to the item vector plus an in-batch
softmax that asks a user state to prefer its own next item's content embedding."""
import numpy as np
import torch
import torch.nn.functional as F

from model import ContentTower


def content_inputs(item_attrs, ids):
    """Content-tower inputs for model items: their attributes; no text, price unknown (Amazon)."""
    attrs = item_attrs[ids]
    return attrs, torch.zeros(len(ids), 1, dtype=torch.long), torch.zeros(len(ids), dtype=torch.long)


def train_content(enc, user_state_pairs, trainable_items, args, log=print):
    """user_state_pairs: (user states [P, d], target item ids [P]) from training sequences;
    trainable_items: item indices whose learned vectors the tower may see (held-out items excluded)."""
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
            c = tower(*content_inputs(enc.item_attrs, t))
            # in-batch softmax over the distinct targets of the batch
            uniq, inv = torch.unique(t, return_inverse=True)
            cu = tower(*content_inputs(enc.item_attrs, uniq))
            nce = F.cross_entropy(u @ cu.T, inv)
            mse = (c - V[t]).pow(2).sum(1).mean() / scale
            it = items[torch.from_numpy(rng.integers(0, len(items), 512))]
            mse_items = (tower(*content_inputs(enc.item_attrs, it)) - V[it]).pow(2).sum(1).mean() / scale
            loss = mse + mse_items + 0.1 * nce
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            n += 1
        log(f"content epoch {epoch + 1} loss {total / max(n, 1):.4f}", flush=True)
    tower.eval()
    return tower
