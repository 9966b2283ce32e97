"""Fits the content tower to the learned item vectors. The main objective is the one cold items
face at serving time: a user state must rank its next item's *content* embedding above the
learned vectors of every other item in the catalogue (softmax over the full catalogue, the
target's learned vector replaced by its content vector). A small MSE to the learned vectors
keeps the tower in the same region of the space."""
import numpy as np
import torch
import torch.nn.functional as F

from model import NEG, ContentTower, matmul_t


def catalogue_mask(targets, n):
    """[B, n] True at the padding column and at each row's own target."""
    m = torch.zeros(len(targets), n, dtype=torch.bool)
    m[:, 0] = True
    m[torch.arange(len(targets)), targets] = True
    return m


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
            # the target as a cold item: its content vector against every other item's learned one
            others = matmul_t(u, V).masked_fill(catalogue_mask(t, V.shape[0]), NEG)
            logits = torch.cat([(u * c).sum(1, keepdim=True), others], 1)
            ce = F.cross_entropy(logits, torch.zeros_like(t))
            mse = (c - V[t]).pow(2).sum(1).mean() / scale
            it = items[torch.from_numpy(rng.integers(0, len(items), 512))]
            mse_items = (tower(*content_inputs(enc.item_attrs, it)) - V[it]).pow(2).sum(1).mean() / scale
            loss = ce + 0.1 * (mse + mse_items)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            n += 1
        log(f"content epoch {epoch + 1} loss {total / max(n, 1):.4f}", flush=True)
    tower.eval()
    return tower
