"""Item co-occurrence table of the scorer's co-occurrence term (terms/cooccurrence.py, --cooccurrence;
models/README.md `scorer.cooccurrence`), and the choice of its weight, window and alpha on validation.

S[i, j] = cosine co-occurrence of items i and j over the users' training sequences (the number of
users whose sequence holds both, divided by sqrt(users with i) * sqrt(users with j), order-free),
plus, with --cooccurrence-sequential G, alpha * log(1 + R[i, j]), where R[i, j] counts how often j
came 2 to G positions after i in a training sequence (the sequential rules of session-based
kNN recommenders; the direct successor, gap 1, is the Markov term's), each row pruned to its
`neighbors` largest entries. The scorer adds

    weight * sum over k = 0 .. window - 1 of decay^k * S[h_k, candidate]

where h_0, h_1, ... are the subject's newest items (repeats kept, missing slots 0): the item-kNN
baseline's score, with the weight and window chosen on validation (select()). The term is >= 0 and
0 for an item outside every h_k's stored neighbours, so the gateway's retrieval stays exact when it
adds those neighbours to the candidates.

The counts come from the same training part as the encoder's; the training positions never see the
term (it is fitted after the encoder and the Markov refine, on validation only), so no
leave-one-out correction is needed. Weight, window and alpha are chosen together on validation.
"""
import numpy as np
import torch

from ..metrics import ranks_from_scores, summarize
from ..ranking import history_items

WEIGHTS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0)
WINDOWS = (3, 5, 10)
DECAY = 0.8
# alpha of the sequential-rules part, relative to the cosine part (0 = cosine only)
SEQUENTIAL_ALPHAS = (0.0, 0.0625, 0.125, 0.25)


class Cooccurrence:
    def __init__(self, seqs, num_items, neighbors, sequential_gap=0, alpha=0.0, parts=None):
        """parts: the counts of `pair_counts(seqs, num_items, sequential_gap)`, when already at hand
        (`grid` builds one table per alpha from one count)."""
        n = num_items + 1
        keys, sim, seq_keys, seq_counts = parts or pair_counts(seqs, num_items, sequential_gap)
        if sequential_gap >= 2 and alpha > 0:
            keys, sim = _add_sequential(keys, sim, seq_keys, seq_counts, alpha)
        rows, cols = keys // n, keys % n
        # each row: most similar first, ties by index; keep the first `neighbors`
        order = np.lexsort((cols, -sim, rows))
        rows, cols, sim = rows[order], cols[order], sim[order]
        start = np.searchsorted(rows, np.arange(n + 1))
        rank = np.arange(len(rows)) - start[rows]
        keep = rank < neighbors
        rows, cols, sim = rows[keep], cols[keep], sim[keep]
        self.neighbors = neighbors
        self.sequential = {"alpha": float(alpha), "maxGap": int(sequential_gap)} if alpha > 0 else None
        self.num_items = num_items
        self.indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
        self.cols, self.sim = cols.astype(np.int64), sim
        self._indptr, self._cols, self._sim = (torch.from_numpy(self.indptr), torch.from_numpy(self.cols),
                                               torch.from_numpy(self.sim))

    @classmethod
    def grid(cls, seqs, num_items, neighbors, sequential_gap, alphas):
        """{alpha: table} for each alpha, the pairs counted once."""
        parts = pair_counts(seqs, num_items, sequential_gap)
        return {a: cls(seqs, num_items, neighbors, sequential_gap, a, parts) for a in alphas}

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


def pair_counts(seqs, num_items, sequential_gap=0):
    """The cosine part, (pair keys i * n + j, similarity), and the sequential part, (pair keys,
    how often j came 2 .. sequential_gap positions after i, i != j; empty when gap < 2)."""
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
    norm = np.sqrt(np.maximum(users_with, 1.0))
    sim = (counts / norm[keys // n] / norm[keys % n]).astype(np.float32)
    seq = []
    for s in seqs:
        a = np.asarray(s, dtype=np.int64)
        for g in range(2, sequential_gap + 1):
            if len(a) > g:
                k = a[:-g] * n + a[g:]
                seq.append(k[a[:-g] != a[g:]])
    seq_keys, seq_counts = np.unique(np.concatenate(seq) if seq else np.zeros(0, np.int64), return_counts=True)
    return keys, sim, seq_keys, seq_counts


def _add_sequential(keys, sim, seq_keys, seq_counts, alpha):
    """(keys, sim) + alpha * log(1 + count) of the sequential pairs, summed where both parts have
    the pair."""
    keys, inverse = np.unique(np.concatenate([keys, seq_keys]), return_inverse=True)
    values = np.zeros(len(keys), dtype=np.float64)
    np.add.at(values, inverse, np.concatenate([sim.astype(np.float64), alpha * np.log1p(seq_counts)]))
    return keys, values.astype(np.float32)


@torch.no_grad()
def select(coocs, base_scores, pairs, log=print):
    """Chooses (alpha, weight, window) on validation NDCG@10 (decay fixed at the kNN baseline's 0.8)
    among the tables `coocs` {alpha: Cooccurrence}. base_scores(start, end) -> [b, num_items + 1]: the
    scorer without this term for pairs[start:end].
    Returns (alpha, weight, window, {(alpha, weight, window): NDCG@10})."""
    targets = torch.tensor([p[1] for p in pairs])
    ranks = {(a, w, win): [] for a in coocs for w in WEIGHTS for win in WINDOWS}
    for s in range(0, len(pairs), 1024):
        chunk = pairs[s:s + 1024]
        base = base_scores(s, s + len(chunk))
        t = targets[s:s + len(chunk)]
        for a, cooc in coocs.items():
            for win in WINDOWS:
                f = cooc.feature(history_items(chunk, win))
                for w in WEIGHTS:
                    ranks[(a, w, win)].append(ranks_from_scores(base + w * f if w else base, t))
    ndcg = {k: summarize(np.concatenate(v))["NDCG@10"] for k, v in ranks.items()}
    # ties: the smaller alpha, weight and window (weight 0 = the term off, whatever alpha says)
    best = max(ndcg, key=lambda k: (round(ndcg[k], 6), -k[1], -k[0], -k[2]))
    for a in coocs:
        for win in WINDOWS:
            log(f"cooccurrence alpha {a:g} window {win}: valid NDCG@10 "
                + " ".join(f"w{w:g}={ndcg[(a, w, win)]:.4f}" for w in WEIGHTS), flush=True)
    return best[0], best[1], best[2], ndcg
