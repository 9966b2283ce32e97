"""Metrics of a next-category distribution: top-k accuracy, log loss, a reliability table of the
top-1 probability, and paired bootstrap intervals that resample sequences (a DIGINETICA sequence
contributes several targets, which are not independent)."""
import numpy as np

BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def topk_hits(scores, targets, k):
    """Hit (1/0) per row: the target is among the k highest scores (ties counted against it: a
    category that ties the target at the k-th place pushes it out)."""
    scores = np.asarray(scores)
    t = scores[np.arange(len(targets)), targets]
    above = (scores > t[:, None]).sum(axis=1)
    ties = (scores == t[:, None]).sum(axis=1) - 1
    return (above + ties < k).astype(float)


def log_losses(probs, targets, floor=1e-12):
    p = np.asarray(probs)[np.arange(len(targets)), targets]
    return -np.log(np.maximum(p, floor))


def reliability(probs, targets):
    """Rows of (bin low, bin high, n, mean top-1 probability, top-1 accuracy) and the expected
    calibration error (the n-weighted mean gap)."""
    probs = np.asarray(probs)
    return reliability_table(probs.max(axis=1), (probs.argmax(axis=1) == np.asarray(targets)).astype(float))


def reliability_table(conf, hit):
    """`reliability` from each target's top-1 probability and whether the top-1 was right."""
    conf, hit = np.asarray(conf, float), np.asarray(hit, float)
    rows, ece = [], 0.0
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        m = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        n = int(m.sum())
        if n:
            rows.append({"from": lo, "to": hi, "n": n, "confidence": round(float(conf[m].mean()), 4),
                         "accuracy": round(float(hit[m].mean()), 4)})
            ece += n * abs(conf[m].mean() - hit[m].mean())
    return {"bins": rows, "ece": float(ece / max(len(conf), 1))}


def paired_bootstrap(a, b, clusters, samples=1000, seed=0):
    """Mean of a − b and its 95 % percentile interval, resampling clusters (sequences) with
    replacement."""
    a, b, clusters = np.asarray(a, float), np.asarray(b, float), np.asarray(clusters)
    ids, inv = np.unique(clusters, return_inverse=True)
    diff_sum = np.bincount(inv, weights=a - b, minlength=len(ids))
    size = np.bincount(inv, minlength=len(ids)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(samples, len(ids)))
    means = diff_sum[draws].sum(axis=1) / size[draws].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float((a - b).mean()), "low": float(lo), "high": float(hi)}
