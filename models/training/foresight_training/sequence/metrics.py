"""Full-ranking leave-one-out metrics: the target is ranked against every item (no sampling).
Ties count against the target (rank = number of items scoring strictly higher, plus half of the
other items with an equal score), so constant scores cannot look good."""
import numpy as np
import torch

KS = (5, 10, 20)


def ranks_from_scores(scores, targets):
    """scores: float tensor [B, num_items + 1] (column 0 = padding, ignored); targets: long [B]."""
    scores = scores.clone()
    scores[:, 0] = -float("inf")
    t = scores.gather(1, targets.unsqueeze(1))
    higher = (scores > t).sum(1)
    ties = (scores == t).sum(1) - 1
    return (higher.double() + ties.double() / 2).numpy()


def exclude_inputs(scores, pairs):
    """Sets each (input, target) pair's input items to -inf in its row of scores: the protocol
    variant that ranks only the items the user has not interacted with yet ("history excluded",
    as the S3-Rec family's full-sort evaluation does)."""
    for r, (s, _) in enumerate(pairs):
        if s:
            scores[r, torch.tensor(s)] = -float("inf")
    return scores


def summarize(ranks):
    ranks = np.asarray(ranks, dtype=np.float64)
    out = {"users": int(len(ranks))}
    for k in KS:
        hit = ranks < k
        out[f"HR@{k}"] = float(hit.mean()) if len(ranks) else 0.0
        out[f"NDCG@{k}"] = float((hit / np.log2(ranks + 2)).mean()) if len(ranks) else 0.0
    return out


def fmt(m, ks=KS):
    return " ".join(f"HR@{k}={m[f'HR@{k}']:.4f} NDCG@{k}={m[f'NDCG@{k}']:.4f}" for k in ks)


def paired_lead(ranks_a, ranks_b, k=10, resamples=1000, seed=20261202):
    """NDCG@k of method a minus method b over the same users, with a 95 % percentile bootstrap
    interval (users resampled with replacement, fixed seed): {"lead", "low", "high"}."""
    a = np.asarray(ranks_a, dtype=np.float64)
    b = np.asarray(ranks_b, dtype=np.float64)
    gain = lambda r: (r < k) / np.log2(r + 2)  # noqa: E731
    d = gain(a) - gain(b)
    if len(d) == 0:
        return {"lead": 0.0, "low": 0.0, "high": 0.0}
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
    return {"lead": float(d.mean()), "low": float(np.quantile(means, 0.025)),
            "high": float(np.quantile(means, 0.975))}


def intervals(ranks, ks=KS, resamples=1000, seed=20261207):
    """95 % percentile bootstrap intervals of HR@k and NDCG@k (targets resampled with replacement,
    fixed seed): {"HR@10": [low, high], ...}; empty without targets."""
    r = np.asarray(ranks, dtype=np.float64)
    if len(r) == 0:
        return {}
    idx = np.random.default_rng(seed).integers(0, len(r), size=(resamples, len(r)))
    out = {}
    for k in ks:
        hit = (r < k).astype(np.float64)
        gain = hit / np.log2(r + 2)
        for name, v in ((f"HR@{k}", hit), (f"NDCG@{k}", gain)):
            means = v[idx].mean(axis=1)
            out[name] = [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]
    return out


def judged(ranks, repeat):
    """What the cut-off protocol reports of one method on one part: {"all", "novel", "repeat"}, each
    a summary with its 95 % bootstrap intervals ("intervals95"); repeat[k]: target k repeats an item
    of its input."""
    r = np.asarray(ranks, dtype=np.float64)
    mask = np.asarray(repeat, dtype=bool)
    return {name: {**summarize(x), "intervals95": intervals(x)}
            for name, x in (("all", r), ("novel", r[~mask]), ("repeat", r[mask]))}
