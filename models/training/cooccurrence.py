"""Item co-occurrence term of the scorer (--cooccurrence; models/README.md `scorer.cooccurrence`).

S[i, j] = cosine co-occurrence of items i and j over the users' training sequences (the number of
users whose sequence holds both, divided by sqrt(users with i) * sqrt(users with j), order-free),
each row pruned to its `neighbors` most similar items. The scorer adds

    weight * sum over k = 0 .. window - 1 of decay^k * S[h_k, candidate]

where h_0, h_1, ... are the subject's newest items (repeats kept, missing slots 0): the item-kNN
baseline's score, with the weight and window chosen on validation (select()). The term is >= 0 and
0 for an item outside every h_k's stored neighbours, so the gateway's retrieval stays exact when it
adds those neighbours to the candidates.

The counts come from the same training part as the encoder's; the training positions never see the
term (it is fitted after the encoder and the Markov refine, on validation only), so no
leave-one-out correction is needed.
"""
import numpy as np
import torch

from encoder_training import history_items
from metrics import ranks_from_scores, summarize

WEIGHTS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0)
WINDOWS = (3, 5, 10)
DECAY = 0.8


class Cooccurrence:
    def __init__(self, seqs, num_items, neighbors):
        n = num_items + 1
        users_with = np.zeros(n, dtype=np.float64)
        keys = []
        for s in seqs:
            u = np.unique(np.asarray(s, dtype=np.int64))
            users_with[u] += 1.0
            if len(u) > 1:
                a, b = np.meshgrid(u, u, indexing="ij")
                m = a != b
                keys.append(a[m] * n + b[m])
        keys, counts = np.unique(np.concatenate(keys) if keys else np.zeros(0, np.int64), return_counts=True)
        rows, cols = keys // n, keys % n
        norm = np.sqrt(np.maximum(users_with, 1.0))
        sim = (counts / norm[rows] / norm[cols]).astype(np.float32)
        # each row: most similar first, ties by index; keep the first `neighbors`
        order = np.lexsort((cols, -sim, rows))
        rows, cols, sim = rows[order], cols[order], sim[order]
        start = np.searchsorted(rows, np.arange(n + 1))
        rank = np.arange(len(rows)) - start[rows]
        keep = rank < neighbors
        rows, cols, sim = rows[keep], cols[keep], sim[keep]
        self.neighbors = neighbors
        self.num_items = num_items
        self.indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
        self.cols, self.sim = cols.astype(np.int64), sim
        self._indptr, self._cols, self._sim = (torch.from_numpy(self.indptr), torch.from_numpy(self.cols),
                                               torch.from_numpy(self.sim))

    @property
    def pairs(self):
        return int(len(self.cols))

    def feature(self, hist, decay=DECAY):
        """hist [B, W] (newest first, 0 = none; repeats kept) -> [B, num_items + 1]:
        sum_k decay^k * S[h_k, item] (row 0 of S is empty, so missing slots add nothing)."""
        B, W = hist.shape
        h = hist.reshape(-1)
        start, n = self._indptr[h], self._indptr[h + 1] - self._indptr[h]
        slot = torch.repeat_interleave(torch.arange(B * W), n)
        at = torch.repeat_interleave(start - (torch.cumsum(n, 0) - n), n) + torch.arange(int(n.sum()))
        w = (decay ** torch.arange(W, dtype=torch.float32)).repeat(B)[slot]
        out = torch.zeros(B, self.num_items + 1)
        return out.index_put_((slot // W, self._cols[at]), w * self._sim[at], accumulate=True)

    def write(self, path):
        """cooccurrence.bin (models/README.md): little-endian CSR, int32 indptr [numItems + 2], int32
        neighbours [nnz], float32 similarities [nnz]; rows most similar first, ties by index."""
        with open(path, "wb") as f:
            f.write(self.indptr.astype("<i4").tobytes())
            f.write(self.cols.astype("<i4").tobytes())
            f.write(self.sim.astype("<f4").tobytes())


@torch.no_grad()
def select(cooc, base_scores, pairs, log=print):
    """Chooses (weight, window) on validation NDCG@10 (decay fixed at the kNN baseline's 0.8).
    base_scores(start, end) -> [b, num_items + 1]: the scorer without this term for pairs[start:end].
    Returns (weight, window, {(weight, window): NDCG@10})."""
    targets = torch.tensor([p[1] for p in pairs])
    ranks = {(w, win): [] for w in WEIGHTS for win in WINDOWS}
    for s in range(0, len(pairs), 1024):
        chunk = pairs[s:s + 1024]
        base = base_scores(s, s + len(chunk))
        for win in WINDOWS:
            f = cooc.feature(history_items(chunk, win))
            for w in WEIGHTS:
                ranks[(w, win)].append(ranks_from_scores(base + w * f if w else base, targets[s:s + len(chunk)]))
    ndcg = {k: summarize(np.concatenate(v))["NDCG@10"] for k, v in ranks.items()}
    best = max(ndcg, key=lambda k: (round(ndcg[k], 6), -k[0], -k[1]))
    for win in WINDOWS:
        log(f"cooccurrence window {win}: valid NDCG@10 " + " ".join(f"w{w:g}={ndcg[(w, win)]:.4f}" for w in WEIGHTS),
            flush=True)
    return best[0], best[1], ndcg
