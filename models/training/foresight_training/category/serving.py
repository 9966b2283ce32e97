"""What the gateway serves (src/forecast/category/): the forecaster's spec (category.json) and
the parity cases (category-parity.json) that pin the TS computation to this one."""
from datetime import datetime, timezone

import numpy as np
import torch

from . import catnet as catnet_mod
from .catnet import MAX_EVENTS
from .pool import FEATURES, FLOOR, anchored, distribution, feature_tensor, rule_dists
from .rules import DECAY, MARKOV_PRIOR, SESSION_EVENTS, SESSION_GAP_SECONDS


def forecaster_spec(tasks, tables, ctx, kind, shipped, feats, w, eps, anchor=None):
    items = sorted(ctx["vocab"], key=ctx["vocab"].get)
    return {
        "dataset": tasks.dataset,
        "forecaster": kind,
        "rule": shipped if kind == "RULE" else None,
        "ruleShare": eps.get(shipped, 0.0) if kind == "RULE" else None,
        "categories": tasks.categories[1:],
        "itemCategories": tasks.item_category,
        "popularity": [float(x) for x in tables.popularity],
        "transitions": {str(a): [[c, n] for c, n in sorted(row.items())] for a, row in sorted(tables.transitions.items())},
        "rules": {"recencyDecay": DECAY, "sessionGapSeconds": SESSION_GAP_SECONDS, "sessionEvents": SESSION_EVENTS,
                  "markovPrior": MARKOV_PRIOR, "maxEvents": MAX_EVENTS, "floor": FLOOR},
        "features": list(feats) if feats else None,
        "weights": [float(x) for x in w] if w is not None else None,
        "catnet": {"file": "catnet.onnx", "items": items} if kind == "MODEL_MIX" else None,
        "anchor": anchor,
    }


def shipped_distribution(spec, tables, ctx, targets):
    """The served distribution for each target's input: np.array [n, C]."""
    if spec["forecaster"] == "RULE":
        F = feature_tensor(tables, ctx["markov"], targets, np.zeros((len(targets), tables.C), np.float32), FEATURES)
        d = rule_dists(F)[spec["rule"]].numpy()
        e = spec["ruleShare"]
        return (1 - e) * d + e * tables.popularity
    cn = catnet_mod.predict(ctx["catnet"], ctx["vocab"], targets) if "catnet" in spec["features"] else None
    F = feature_tensor(tables, ctx["markov"], targets, cn, tuple(spec["features"]))
    p = distribution(F, torch.tensor(spec["weights"])).numpy()
    if not spec.get("anchor"):
        return p
    R = feature_tensor(tables, ctx["markov"], targets, np.zeros((len(targets), tables.C), np.float32), FEATURES)
    return anchored(p, rule_dists(R)[spec["anchor"]].double().numpy(), tables.popularity)


def _iso(t):
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The Amazon cases come from the sequences the gateway's tests import (test/helpers/fixtures.ts
# beautySlice: the first 120 users), so that their items exist there.
FIXTURE_SEQUENCES = 120


def parity_cases(tasks, tables, ctx, spec, count=8):
    """Test inputs of several lengths and their served distribution."""
    amazon = tasks.split["kind"] != "time" and tasks.dataset in ("beauty", "sports")
    pool = [t for t in tasks.test if t.sequence < FIXTURE_SEQUENCES] if amazon else tasks.test
    by_len = sorted(pool, key=lambda t: (len(t.cats), t.sequence))
    picks = [by_len[int(q * (len(by_len) - 1))] for q in np.linspace(0, 1, count)]
    probs = shipped_distribution(spec, tables, ctx, picks)
    cases = []
    for t, p in zip(picks, probs):
        top = np.argsort(-p[1:], kind="stable")[:10] + 1
        cases.append({
            "events": [{"itemId": i, "occurredAt": _iso(s)} for i, s in zip(t.items[-MAX_EVENTS:], t.times[-MAX_EVENTS:])],
            "top": [{"categoryId": tasks.categories[c], "probability": float(p[c])} for c in top],
            "probabilities": [round(float(x), 7) for x in p[1:]],
        })
    return {"forecaster": spec["forecaster"], "rule": spec["rule"], "cases": cases}
