"""Non-neural baselines scored over all items, evaluated by the same code as the model.
Each is fitted on the same training part as the model (every user's sequence without the last
two items), scores the evaluation input (for test: everything before the last item), and breaks
ties by popularity. This reproduces the baseline table of issue 4 exactly."""
import numpy as np
import torch

from .metrics import exclude_inputs, ranks_from_scores

DECAY = 0.8  # weight of the k-th most recent item in the kNN baseline: DECAY ** (k - 1)
KNN_WINDOW = 5


def _popularity(seqs, n):
    pop = np.zeros(n + 1, dtype=np.float32)
    for s in seqs:
        np.add.at(pop, s, 1.0)
    return pop


def _tie_break(pop):
    return torch.from_numpy(pop / (pop.max() + 1.0) * 1e-3)


def _rank_rows(rows_fn, pairs, pop, exclude_history=False, batch=2048):
    """Ranks of each pair's target under rows_fn(inputs) -> scores [B, n + 1] + popularity tie-break;
    exclude_history: each pair's input items are left out of its ranking."""
    tb = _tie_break(pop)
    out = []
    for b in range(0, len(pairs), batch):
        chunk = pairs[b:b + batch]
        scores = rows_fn([p[0] for p in chunk]) + tb
        if exclude_history:
            scores = exclude_inputs(scores, chunk)
        out.append(ranks_from_scores(scores, torch.tensor([p[1] for p in chunk])))
    return np.concatenate(out)


def most_popular(fit, pairs, n, exclude_history=False):
    pop = _popularity(fit, n)
    return _rank_rows(lambda inputs: torch.zeros(len(inputs), n + 1), pairs, pop, exclude_history)


def transition_counts(fit, pairs, n, exclude_history=False):
    """score(j) = number of times j directly followed the user's last item."""
    seqs = fit
    pop = _popularity(seqs, n)
    T = np.zeros((n + 1, n + 1), dtype=np.float32)
    for s in seqs:
        if len(s) > 1:
            np.add.at(T, (s[:-1], s[1:]), 1.0)
    T = torch.from_numpy(T)
    return _rank_rows(lambda inputs: T[torch.tensor([s[-1] for s in inputs])], pairs, pop, exclude_history)


def cooccurrence_knn(fit, pairs, n, exclude_history=False):
    """Cosine-normalised co-occurrence within users' sequences; score(j) = sum over the last 5
    items i_k (k = 1 newest) of DECAY^(k-1) * sim(i_k, j)."""
    seqs = fit
    pop = _popularity(seqs, n)
    C = np.zeros((n + 1, n + 1), dtype=np.float32)
    users_with = np.zeros(n + 1, dtype=np.float32)
    for s in seqs:
        u = np.unique(np.asarray(s, dtype=np.int64))
        users_with[u] += 1.0
        if len(u) > 1:
            a, b = np.meshgrid(u, u, indexing="ij")
            m = a != b
            C[a[m], b[m]] += 1.0
    norm = np.sqrt(np.maximum(users_with, 1.0))
    C /= norm[:, None]
    C /= norm[None, :]
    C = torch.from_numpy(C)

    def rows(inputs):
        out = torch.zeros(len(inputs), n + 1)
        for r, s in enumerate(inputs):
            recent = s[-KNN_WINDOW:][::-1]
            w = torch.tensor([DECAY ** k for k in range(len(recent))]).unsqueeze(1)
            out[r] = (C[torch.tensor(recent)] * w).sum(0)
        return out

    return _rank_rows(rows, pairs, pop, exclude_history)


BASELINES = {
    "most popular": most_popular,
    "last-item transition counts": transition_counts,
    "item co-occurrence kNN (last 5 items, decayed)": cooccurrence_knn,
}
