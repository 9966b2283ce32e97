"""The pooled forecaster: a conditional logit over the categories, P(c) ∝ exp(w · f(c)), whose
per-category features are the rule distributions (in logs), catnet's distribution and the
input's history; the weights w are fitted on validation targets. Without catnet (`features`
without "catnet") it is the rules-only mix."""
import numpy as np
import torch

from .catnet import MAX_EVENTS
from .rules import DECAY, session_start

FLOOR = 1e-4  # log(FLOOR + p): a category a rule gives nothing stays comparable
FEATURES = ("transitions", "recency", "session", "popularity", "catnet", "last", "inHistory", "historyCount")
RULE_FEATURES = tuple(f for f in FEATURES if f != "catnet")


def transition_matrix(tables):
    C = tables.C
    m = np.empty((C, C), np.float32)
    for c in range(C):
        m[c] = tables.markov(c)
    return m


def feature_tensor(tables, markov, targets, catnet_probs, features):
    """[n, C, K] float32 for the given targets (inputs capped to the last MAX_EVENTS events)."""
    n, C = len(targets), tables.C
    rec = np.zeros((n, C), np.float32)
    ses = np.zeros((n, C), np.float32)
    cnt = np.zeros((n, C), np.float32)
    last = np.zeros((n, C), np.float32)
    lasts = np.zeros(n, np.int64)
    for r, t in enumerate(targets):
        cats, times = t.cats[-MAX_EVENTS:], t.times[-MAX_EVENTS:]
        L = len(cats)
        w = DECAY ** np.arange(L - 1, -1, -1)
        np.add.at(rec[r], cats, w)
        rec[r] /= w.sum()
        s = session_start(times)
        np.add.at(ses[r], cats[s:], 1.0)
        ses[r] /= L - s
        np.add.at(cnt[r], cats, 1.0)
        last[r, cats[-1]] = 1.0
        lasts[r] = cats[-1]
    cols = {
        "transitions": np.log(FLOOR + markov[lasts]),
        "recency": np.log(FLOOR + rec),
        "session": np.log(FLOOR + ses),
        "popularity": np.broadcast_to(np.log(np.maximum(tables.popularity, 1e-30)).astype(np.float32), (n, C)),
        "last": last,
        "inHistory": (cnt > 0).astype(np.float32),
        "historyCount": np.log1p(cnt),
    }
    if "catnet" in features:
        cols["catnet"] = np.log(FLOOR + catnet_probs)
    F = np.stack([cols[f] for f in features], axis=-1).astype(np.float32)
    F[:, 0, :] = 0.0  # the padding: masked in the softmax, kept finite for the gradient
    return torch.from_numpy(F)


def distribution(F, w):
    logits = F @ w
    logits[:, 0] = -torch.inf
    return torch.softmax(logits, dim=-1)


def fit(F, targets, l2=1e-3, iters=60):
    """Weights minimising the mean log loss (+ l2 ‖w‖²) of targets under the features F [n, C, K]."""
    y = torch.as_tensor(np.asarray(targets))
    w = torch.zeros(F.shape[-1], requires_grad=True)
    with torch.no_grad():
        w[0] = 1.0  # start from the transitions rule
    opt = torch.optim.LBFGS([w], max_iter=iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = F @ w
        logits = logits.masked_fill(torch.arange(F.shape[1]) == 0, -1e9)
        loss = torch.nn.functional.cross_entropy(logits, y) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def rule_dists(F):
    """The rules' distributions read back from a feature tensor with every FEATURES column:
    {rule: [n, C]}, the padding column 0."""
    col = {f: F[..., k] for k, f in enumerate(FEATURES)}
    out = {"last": col["last"], "recency": torch.exp(col["recency"]) - FLOOR,
           "session": torch.exp(col["session"]) - FLOOR, "popularity": torch.exp(col["popularity"]),
           "transitions": torch.exp(col["transitions"]) - FLOOR}
    for d in out.values():
        d[:, 0] = 0.0
    return out


def anchored(p, rule, popularity):
    """The mix `p` [n, C] with the rule's top category first (the rule's own ranking: `rule` [n, C]
    plus 1e-6 × popularity, as the rule is scored), every other category's order kept: p where that
    category is already the strict top, else (1 − α) p + α e_c with α = δ / (1 + δ) + 1e-6, δ the
    gap to the top (the smallest such move). Its top-1 is the rule's by construction; its top-5
    the rule's choice and the mix's best four others. Column 0, the padding, stays 0."""
    p = np.array(p, np.float64)
    s = np.asarray(rule, np.float64) + 1e-6 * np.asarray(popularity, np.float64)
    s[:, 0] = -np.inf
    rows = np.arange(len(p))
    c = s.argmax(1)
    others = p.copy()
    others[rows, c] = -np.inf
    others[:, 0] = -np.inf
    delta = others.max(1) - p[rows, c]
    alpha = np.where(delta >= 0, delta / (1 + delta) + 1e-6, 0.0)
    p *= (1 - alpha)[:, None]
    p[rows, c] += alpha
    return p
