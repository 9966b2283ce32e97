"""Full ranking of (input sequence, target) pairs over all items by the scorer (scorer.Scorer.score_all:
each term adds its part through its own add_all), as validation, weight selection, the recorded
metrics and evaluate.py use it."""
from typing import NamedTuple

import numpy as np
import torch

from .data import encoder_inputs
from .metrics import exclude_inputs, ranks_from_scores
from .encoder import matmul_t


class AllItems(NamedTuple):
    """What the terms read to score every item for a batch of B pairs (Term.add_all)."""
    user_state: torch.Tensor  # [B, dim]
    category_probs: torch.Tensor  # [B, numAttributes + 1]
    dot: torch.Tensor  # [B, num_items + 1]: the inner products with every item vector
    # [B, W]: each pair's W newest input items, newest first (history_items); W = the most any term
    # reads (Term.history)
    history: torch.Tensor
    item_attrs: torch.Tensor  # [num_items + 1, A]: every item's attributes (0 = none)


@torch.no_grad()
def encode_pairs(enc, pairs, batch=1024):
    """User states and category probabilities for (input sequence, target) pairs. Pairs are
    processed in length order, each batch padded only to its longest sequence (the newest item
    stays at the last position, so this equals padding to maxLen); returns them in input order."""
    enc.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
    U = torch.zeros(len(pairs), enc.dim)
    P = torch.zeros(len(pairs), enc.num_attrs + 1)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        seqs = [pairs[i][0][-enc.max_len:] for i in idx]
        u, p, _ = enc(*encoder_inputs(seqs, max(1, max(len(x) for x in seqs))))
        U[idx], P[idx] = u, p
    return U, P


def history_items(pairs, k):
    """[B, k]: the k newest input items of each pair, newest first, repeats kept, 0 where the
    input is shorter (the scorer's h_0 .. h_{k-1}, models/README.md `scorer.markovItems`)."""
    return torch.tensor([[p[0][-1 - j] if j < len(p[0]) else 0 for j in range(k)] for p in pairs],
                        dtype=torch.long).reshape(len(pairs), k)


def all_items(U, P, V, item_attrs, pairs, width):
    """AllItems for pairs with user states U [B, dim], category probabilities P and item vectors V,
    with their `width` newest input items."""
    return AllItems(U, P, matmul_t(U, V), history_items(pairs, width), item_attrs)


@torch.no_grad()
def rank_encoded(U, P, V, pairs, scorer=None, item_attrs=None, exclude_history=False, batch=2048):
    """Ranks of the pairs' targets over all items by the scorer (None: the inner product alone), for
    their user states U and category probabilities P (encode_pairs) and item vectors V;
    exclude_history: each pair's input items are left out of its ranking."""
    width = 0 if scorer is None else scorer.history
    ranks = []
    for s in range(0, len(pairs), batch):
        chunk = pairs[s:s + batch]
        x = all_items(U[s:s + batch], P[s:s + batch], V, item_attrs, chunk, width)
        scores = x.dot if scorer is None else scorer.score_all(x)
        if exclude_history:
            scores = exclude_inputs(scores, chunk)
        ranks.append(ranks_from_scores(scores, torch.tensor([p[1] for p in chunk], dtype=torch.long)))
    return np.concatenate(ranks) if ranks else np.zeros(0)


@torch.no_grad()
def rank_targets(enc, pairs, scorer=None, item_vecs=None, exclude_history=False):
    """rank_encoded for pairs the encoder enc encodes; item_vecs: other item vectors than the
    encoder's (e.g. content-tower ones for cold items)."""
    if not pairs:
        return np.zeros(0)
    V = enc.item_vectors() if item_vecs is None else item_vecs
    U, P = encode_pairs(enc, pairs)
    return rank_encoded(U, P, V, pairs, scorer, enc.item_attrs, exclude_history)
