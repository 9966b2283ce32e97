"""Measures next-category forecasts against the rules and builds the shipped forecaster.

  cd models/training && nice /usr/bin/python3 -m foresight_training.category.run \
      --dataset beauty --out /tmp/category/beauty [--model-dir ../beauty]

Writes to --out: metrics.json (every forecaster on validation and test, bootstrap intervals),
category.json (the forecaster the gateway serves), catnet.onnx (when it is shipped) and
parity.json (histories and the Python distribution, for the TS parity test). --model-dir
copies the three serving files there and records the metrics in its model.json
(`metrics.category`, `files.category`)."""
import argparse
import json
import os
import shutil
import time

import numpy as np
import torch

from . import catnet as catnet_mod
from .data import load
from .metrics import log_losses, paired_bootstrap, reliability_table, topk_hits
from .pool import FEATURES, RULE_FEATURES, distribution, feature_tensor, fit, rule_dists, transition_matrix
from .rules import DECAY, MARKOV_PRIOR, RULES, SESSION_EVENTS, SESSION_GAP_SECONDS, RuleTables

CHUNK = 1000
EPSILONS = (0.001, 0.01, 0.03, 0.1, 0.3)
LEVEL = {"diginetica": "the target item's category (DIGINETICA items have one)",
         "beauty": "the target item's most specific attribute (its rarest)",
         "sports": "the target item's most specific attribute (its rarest)"}


class Scored:
    """Per-target outcomes of one forecaster."""

    def __init__(self):
        self.parts = {k: [] for k in ("hit1", "hit5", "ll", "conf", "correct")}

    def add(self, probs, scores, y):
        probs, scores = np.asarray(probs, np.float64), np.asarray(scores, np.float64)
        self.parts["hit1"].append(topk_hits(scores, y, 1))
        self.parts["hit5"].append(topk_hits(scores, y, 5))
        self.parts["ll"].append(log_losses(probs, y))
        self.parts["conf"].append(probs.max(1))
        self.parts["correct"].append((scores.argmax(1) == y).astype(float))

    def get(self, k):
        return np.concatenate(self.parts[k])

    def summary(self, reliability=False):
        out = {"targets": int(len(self.get("hit1"))), "top1": float(self.get("hit1").mean()),
               "top5": float(self.get("hit5").mean()), "logLoss": float(self.get("ll").mean())}
        if reliability:
            out["reliability"] = reliability_table(self.get("conf"), self.get("correct"))
        return out


def evaluate(ctx, targets, weights, eps, extra=None):
    """Every forecaster on `targets`; `weights` {mix name: (features, w)}; `extra` {name: fn(chunk)→probs}."""
    out = {}
    rule_idx = [FEATURES.index(f) for f in RULE_FEATURES]
    for s in range(0, len(targets), CHUNK):
        chunk = targets[s:s + CHUNK]
        y = np.array([t.target for t in chunk])
        cn = catnet_mod.predict(ctx["catnet"], ctx["vocab"], chunk)
        F = feature_tensor(ctx["tables"], ctx["markov"], chunk, cn, FEATURES)
        # float64: the popularity tie-break (1e-6 × popularity) is below float32's resolution
        pop = ctx["tables"].popularity
        for r, d in rule_dists(F).items():
            d, e = d.double().numpy(), eps.get(r, 0.0)
            out.setdefault(r, Scored()).add((1 - e) * d + e * pop, d + 1e-6 * pop, y)
        out.setdefault("catnet", Scored()).add(cn, cn, y)
        for name, (feats, w) in weights.items():
            Fx = F if feats == FEATURES else F[..., rule_idx]
            p = distribution(Fx, w)
            out.setdefault(name, Scored()).add(p, p, y)
        for name, fn in (extra or {}).items():
            p = fn(chunk)
            out.setdefault(name, Scored()).add(p, p, y)
    return out


def fit_mix(ctx, targets, feats):
    F = feature_tensor(ctx["tables"], ctx["markov"], targets, catnet_mod.predict(ctx["catnet"], ctx["vocab"], targets), feats) \
        if "catnet" in feats else feature_tensor(ctx["tables"], ctx["markov"], targets, None, feats)
    return fit(F, [t.target for t in targets])


def choose_eps(ctx, targets):
    """Each rule's share of popularity in its log-loss distribution, chosen on validation."""
    F = feature_tensor(ctx["tables"], ctx["markov"], targets, np.zeros((len(targets), ctx["tables"].C), np.float32), FEATURES)
    pop = torch.from_numpy(ctx["tables"].popularity.astype(np.float32))
    y = np.array([t.target for t in targets])
    eps = {}
    for r, d in rule_dists(F).items():
        if r == "popularity":
            continue
        eps[r] = min(EPSILONS, key=lambda e: log_losses((1 - e) * d + e * pop, y).mean())
    return eps


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True, choices=("beauty", "sports", "diginetica"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-dir")
    ap.add_argument("--fit-targets", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--dim", type=int, default=48)
    ap.add_argument("--catnet-sequences", type=int, default=0, help="train catnet on at most this many sequences")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    tasks = load(args.dataset)
    tables = RuleTables(tasks.num_categories, tasks.train)
    rng = np.random.default_rng(args.seed)
    fit_idx = np.sort(rng.choice(len(tasks.valid), min(len(tasks.valid), args.fit_targets), replace=False))
    fit_targets = [tasks.valid[k] for k in fit_idx]
    model, vocab, history = catnet_mod.train(tasks, fit_targets, dim=args.dim, epochs=args.epochs, seed=args.seed,
                                                max_sequences=args.catnet_sequences)
    ctx = {"tables": tables, "markov": transition_matrix(tables), "catnet": model, "vocab": vocab}
    eps = choose_eps(ctx, fit_targets)

    # validation: the mixes cross-fitted on two halves of the fit targets, the rest as they are
    half = len(fit_targets) // 2
    folds = (fit_targets[:half], fit_targets[half:])
    valid = {}
    for a, b in ((0, 1), (1, 0)):
        w = {"modelMix": (FEATURES, fit_mix(ctx, folds[a], FEATURES)),
             "rulesMix": (RULE_FEATURES, fit_mix(ctx, folds[a], RULE_FEATURES))}
        for name, sc in evaluate(ctx, folds[b], w, eps).items():
            for k, v in sc.parts.items():
                valid.setdefault(name, Scored()).parts[k].extend(v)
    valid_summary = {k: v.summary() for k, v in valid.items()}
    best_rule = max(RULES, key=lambda r: (valid_summary[r]["top1"], valid_summary[r]["top5"]))

    # folds were scored second half first (a=0 scores folds[1])
    valid_clusters = np.array([t.sequence for t in folds[1] + folds[0]])
    valid_lead = {name: {m: paired_bootstrap(valid[name].get(k), valid[best_rule].get(k), valid_clusters)
                         for m, k in (("top1", "hit1"), ("top5", "hit5"), ("logLoss", "ll"))}
                  for name in ("modelMix", "rulesMix")}

    def beats(name):
        """A mix replaces the best rule only when validation says it is better: top-1 ahead with
        the bootstrap interval above zero, top-5 and log loss no worse."""
        m, r = valid_summary[name], valid_summary[best_rule]
        return valid_lead[name]["top1"]["low"] > 0 and m["top5"] >= r["top5"] and m["logLoss"] <= r["logLoss"]

    shipped = "modelMix" if beats("modelMix") else "rulesMix" if beats("rulesMix") else best_rule
    weights = {"modelMix": (FEATURES, fit_mix(ctx, fit_targets, FEATURES)),
               "rulesMix": (RULE_FEATURES, fit_mix(ctx, fit_targets, RULE_FEATURES))}
    test = evaluate(ctx, tasks.test, weights, eps)
    clusters = np.array([t.sequence for t in tasks.test])
    test_summary = {k: v.summary(reliability=k in ("modelMix", "rulesMix", "catnet", best_rule, shipped)) for k, v in test.items()}
    lead = {}
    for r in RULES:
        lead[r] = {m: paired_bootstrap(test[shipped].get(k), test[r].get(k), clusters)
                   for m, k in (("top1", "hit1"), ("top5", "hit5"), ("logLoss", "ll"))}
    lead_model = {m: paired_bootstrap(test["modelMix"].get(k), test[best_rule].get(k), clusters)
                  for m, k in (("top1", "hit1"), ("top5", "hit5"), ("logLoss", "ll"))}
    kind = {"modelMix": "MODEL_MIX", "rulesMix": "RULES_MIX"}.get(shipped, "RULE")
    feats, w = weights.get(shipped, (None, None))
    metrics = {
        "level": LEVEL[args.dataset],
        "split": tasks.split,
        "categories": tasks.num_categories,
        "forecaster": kind, "rule": shipped if kind == "RULE" else None,
        "bestRuleOnValidation": best_rule,
        "features": list(feats) if feats else None,
        "weights": [round(float(x), 6) for x in w] if w is not None else None,
        "valid": {"note": f"{len(fit_targets)} validation targets; the mixes cross-fitted on two halves", **valid_summary},
        "validLeadOverBestRule": valid_lead,
        "decision": "a mix is served when on validation its top-1 lead over the best rule has a 95 % interval above zero "
                    "and its top-5 and log loss are no worse; else the best rule",
        "test": test_summary,
        "testLeadOverRules": {"of": shipped, "intervals": "95 % paired bootstrap over sequences (1000 draws)", **lead},
        "testLeadModelMixOverBestRule": lead_model,
        "ruleSettings": {"recencyDecay": DECAY, "sessionGapSeconds": SESSION_GAP_SECONDS,
                         "sessionEventsWithoutTimes": SESSION_EVENTS, "markovPrior": MARKOV_PRIOR,
                         "logLossPopularityShare": eps},
        "catnet": {"dim": args.dim, "history": history, "items": len(vocab), "epochs": args.epochs,
               "trainingSequences": args.catnet_sequences or len(tasks.train)},
        "segmentPopularity": "not measured: the data has no shopper attributes (segments)",
        "seconds": round(time.time() - t0, 1),
        "command": f"cd models/training && nice /usr/bin/python3 -m foresight_training.category.run --dataset {args.dataset}"
                   f" --epochs {args.epochs} --catnet-sequences {args.catnet_sequences} --fit-targets {args.fit_targets}"
                   f" --out {args.out}"
                   + (f" --model-dir {args.model_dir}" if args.model_dir else ""),
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    write_forecaster(args, tasks, tables, ctx, kind, shipped, feats, w, eps, metrics)
    print(json.dumps({k: {m: round(v[m], 4) for m in ("top1", "top5", "logLoss")} for k, v in test_summary.items()}, indent=0))
    print("shipped", shipped, "best rule", best_rule, "lead", json.dumps(lead[best_rule]))


def write_forecaster(args, tasks, tables, ctx, kind, shipped, feats, w, eps, metrics):
    from .serving import forecaster_spec, parity_cases
    spec = forecaster_spec(tasks, tables, ctx, kind, shipped, feats, w, eps)
    files = ["category.json", "category-parity.json"]
    if kind == "MODEL_MIX":
        catnet_mod.export(ctx["catnet"], os.path.join(args.out, "catnet.onnx"))
        files.append("catnet.onnx")
    with open(os.path.join(args.out, "category.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
    with open(os.path.join(args.out, "category-parity.json"), "w") as f:
        json.dump(parity_cases(tasks, tables, ctx, spec), f, indent=1)
    if args.model_dir:
        for name in files:
            shutil.copy(os.path.join(args.out, name), os.path.join(args.model_dir, name))
        stale = os.path.join(args.model_dir, "catnet.onnx")
        if "catnet.onnx" not in files and os.path.exists(stale):
            os.remove(stale)
        path = os.path.join(args.model_dir, "model.json")
        with open(path) as f:
            manifest = json.load(f)
        manifest.setdefault("files", {})["category"] = "category.json"
        manifest.setdefault("metrics", {})["category"] = {k: v for k, v in metrics.items() if k != "catnet"} | {
            "catnet": {k: v for k, v in metrics["catnet"].items() if k != "history"}}
        with open(path, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
