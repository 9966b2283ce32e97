"""Binary-classification metrics in numpy (float64): ROC-AUC with ties counted half, PR-AUC as
average precision, Brier score, log-loss, the F1-optimal threshold, a 10-bin reliability curve
and a paired bootstrap for the difference between two scorers on the same rows."""
import numpy as np

RELIABILITY_BINS = 10


def roc_auc(y, score):
    """P(score of a random positive > score of a random negative), ties counting 1/2 (the
    Mann-Whitney statistic from average ranks)."""
    y = np.asarray(y).astype(bool)
    order = np.argsort(score, kind="mergesort")
    sorted_score = np.asarray(score)[order]
    ranks = np.empty(len(order))
    # average rank within each run of equal scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_score)) + 1]
    ends = np.r_[starts[1:], len(order)]
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    pos, neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _curve(y, score):
    """Per distinct score (highest first): the score, true and false positives at >= it."""
    order = np.argsort(-np.asarray(score), kind="mergesort")
    s, t = np.asarray(score)[order], np.asarray(y)[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(t)[last]
    return s[last], tp, (last + 1) - tp


def average_precision(y, score):
    """PR-AUC as the step sum of precision over recall increments (sklearn's definition)."""
    _, tp, fp = _curve(y, score)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0, recall]) * tp / (tp + fp)))


def f1_threshold(y, prob):
    """The threshold maximising F1 of `prob >= threshold` on these rows, placed halfway between
    the chosen distinct value and the next lower one so that > and >= agree on them."""
    s, tp, fp = _curve(y, prob)
    f1 = 2 * tp / (2 * tp + fp + (tp[-1] - tp))
    i = int(np.argmax(f1))
    return float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i])


def classification(y, predicted):
    y, predicted = np.asarray(y).astype(bool), np.asarray(predicted).astype(bool)
    tp = float(np.sum(y & predicted))
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(y.sum()), 1)
    return {"accuracy": float(np.mean(y == predicted)), "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if tp else 0.0}


def reliability(y, prob):
    """10 equal-width probability bins: mean predicted, observed purchase rate, count (the two
    means are null for an empty bin)."""
    y, prob = np.asarray(y, dtype=np.float64), np.asarray(prob, dtype=np.float64)
    which = np.minimum((prob * RELIABILITY_BINS).astype(int), RELIABILITY_BINS - 1)
    out = []
    for b in range(RELIABILITY_BINS):
        inside = which == b
        n = int(inside.sum())
        out.append({"low": b / RELIABILITY_BINS, "high": (b + 1) / RELIABILITY_BINS,
                    "meanPredicted": float(prob[inside].mean()) if n else None,
                    "observedRate": float(y[inside].mean()) if n else None, "count": n})
    return out


def evaluate(y, prob, predicted, score=None):
    """All reported metrics. prob: probabilities (Brier, log-loss, reliability); predicted: the
    hard decisions; score: what AUC / PR-AUC rank by (default prob)."""
    score = prob if score is None else score
    y64 = np.asarray(y, dtype=np.float64)
    p = np.clip(prob, 1e-7, 1 - 1e-7)
    curve = reliability(y, prob)
    ece = sum(b["count"] * abs(b["meanPredicted"] - b["observedRate"]) for b in curve if b["count"]) / len(y64)
    return {"rows": int(len(y64)), "positives": int(y64.sum()), **classification(y, predicted),
            "rocAuc": roc_auc(y, score), "prAuc": average_precision(y, score),
            "brier": float(np.mean((prob - y64) ** 2)),
            "logLoss": float(-np.mean(y64 * np.log(p) + (1 - y64) * np.log(1 - p))),
            "ece": float(ece), "reliability": curve}


def paired_bootstrap(y, a, b, statistic, rng, resamples=1000):
    """statistic(y, a) - statistic(y, b) on these rows and its 95 % percentile interval over
    rows resampled with replacement (the same resample for both): {"lead", "low", "high"}."""
    y, a, b = np.asarray(y), np.asarray(a), np.asarray(b)
    leads = []
    for _ in range(resamples):
        r = rng.integers(0, len(y), len(y))
        leads.append(statistic(y[r], a[r]) - statistic(y[r], b[r]))
    return {"lead": float(statistic(y, a) - statistic(y, b)),
            "low": float(np.quantile(leads, 0.025)), "high": float(np.quantile(leads, 0.975))}
