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
from .data import Target, level_map, load, tree_depth
from .metrics import log_losses, paired_bootstrap, reliability_table, topk_hits
from .pool import FEATURES, RULE_FEATURES, anchored, distribution, feature_tensor, fit, rule_dists, transition_matrix
from .rules import DECAY, MARKOV_PRIOR, RULES, SESSION_EVENTS, SESSION_GAP_SECONDS, RuleTables

CHUNK = 1000
EPSILONS = (0.001, 0.01, 0.03, 0.1, 0.3)
# extra weight on the best rule's own feature, chosen on validation for top-1 (then top-5): the
# log-loss fit alone spreads mass away from the commonest move (DIGINETICA: back to the last
# event's category) and loses top-1 to the rule it pools
BOOSTS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
TEMPERATURES = tuple(np.round(np.geomspace(0.05, 1.5, 40), 4))
# model.json metrics.category entries other steps write (head.py, item_term.py): kept on a re-run
KEPT = ("sequenceModelHead", "itemRanking")


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


def evaluate(ctx, targets, weights, eps, extra=None, anchor=None):
    """Every forecaster on `targets`; `weights` {mix name: (features, w)}; `extra` {name: fn(chunk)→probs}.
    Without catnet in `ctx` (None), the rules, mixes and extras only. With `anchor` (a rule), each
    mix also anchored on it ("<mix>Anchored": pool.anchored)."""
    out = {}
    rule_idx = [FEATURES.index(f) for f in RULE_FEATURES]
    for s in range(0, len(targets), CHUNK):
        chunk = targets[s:s + CHUNK]
        y = np.array([t.target for t in chunk])
        cn = catnet_mod.predict(ctx["catnet"], ctx["vocab"], chunk) if ctx["catnet"] is not None else None
        F = feature_tensor(ctx["tables"], ctx["markov"], chunk,
                           np.zeros((len(chunk), ctx["tables"].C), np.float32) if cn is None else cn, FEATURES)
        # float64: the popularity tie-break (1e-6 × popularity) is below float32's resolution
        pop = ctx["tables"].popularity
        dists = rule_dists(F)
        for r, d in dists.items():
            d, e = d.double().numpy(), eps.get(r, 0.0)
            out.setdefault(r, Scored()).add((1 - e) * d + e * pop, d + 1e-6 * pop, y)
        if cn is not None:
            out.setdefault("catnet", Scored()).add(cn, cn, y)
        for name, (feats, w) in weights.items():
            Fx = F if feats == FEATURES else F[..., rule_idx]
            p = distribution(Fx, w)
            out.setdefault(name, Scored()).add(p, p, y)
            if anchor is not None:
                pa = anchored(p.numpy(), dists[anchor].double().numpy(), pop)
                out.setdefault(name + "Anchored", Scored()).add(pa, pa, y)
        for name, fn in (extra or {}).items():
            p = fn(chunk)
            out.setdefault(name, Scored()).add(p, p, y)
    return out


def segment_popularity(tasks, tables):
    """Where the data has a tree (Beauty): the 'segment popularity' rule. A shopper's segment is
    the root category most of their history's events fall under (ties: the newest); the rule is
    the categories' share of the training events of the shoppers in that segment (with one
    pseudo-count of global popularity). The data has no shopper attributes, so this behavioural
    segment is the one there is. Measured, not served. None without a tree."""
    roots = level_map(tasks, 1)
    if roots is None:
        return None

    def segment(cats):
        counts = {}
        for k, c in enumerate(cats):
            counts[roots[c]] = (counts.get(roots[c], (0, 0))[0] + 1, k)
        return max(counts, key=counts.get)

    C = tables.C
    counts = {}
    for seq in tasks.train:
        row = counts.setdefault(segment([c for _, c, _ in seq]), np.zeros(C))
        np.add.at(row, [c for _, c, _ in seq], 1.0)
    dist = {g: (row + tables.popularity) / (row.sum() + 1) for g, row in counts.items()}
    return lambda chunk: np.stack([dist.get(segment(t.cats), tables.popularity) for t in chunk])


def level_report(tasks, ctx, spec, fit_targets, eps):
    """Where the data has a tree: the served forecast summed up the tree to each level, against
    every rule computed at that level itself (its statistics, its best rule on the fit targets)."""
    from .serving import shipped_distribution
    depth = tree_depth(tasks)
    if not depth:
        return None
    test = tasks.test
    P = np.concatenate([shipped_distribution(spec, ctx["tables"], ctx, test[s:s + CHUNK]) for s in range(0, len(test), CHUNK)])
    clusters = np.array([t.sequence for t in test])
    out = []
    for d in range(1, depth + 1):
        m = level_map(tasks, d)
        M = np.zeros((len(m), len(m)))
        M[np.arange(len(m)), m] = 1.0
        Pd = P @ M
        remap = lambda ts: [Target([m[c] for c in t.cats], t.items, t.times, int(m[t.target]), t.sequence) for t in ts]
        tables_d = RuleTables(tasks.num_categories, [[(i, m[c], tm) for i, c, tm in seq] for seq in tasks.train])
        ctx_d = {"tables": tables_d, "markov": transition_matrix(tables_d), "catnet": None, "vocab": None}
        fit_d, test_d = remap(fit_targets), remap(test)
        eps_d = choose_eps(ctx_d, fit_d)
        rules_fit = {k: v.summary() for k, v in evaluate_rules(ctx_d, fit_d, eps_d).items()}
        best = max(RULES, key=lambda r: (rules_fit[r]["top1"], rules_fit[r]["top5"]))
        scored = evaluate_rules(ctx_d, test_d, eps_d)
        served = Scored()
        served.add(Pd, Pd, np.array([t.target for t in test_d]))
        lead = leads(served, scored[best], clusters)
        out.append({"depth": d, "categories": int(len(set(m[1:].tolist()))), "served": served.summary(),
                    "rules": {r: scored[r].summary() for r in RULES}, "bestRuleOnValidation": best,
                    "leadOverBestRule": lead})
    return {"note": "the served distribution summed up the tree to each depth (1: the roots; a category shallower "
                    "than the depth counts as itself), against the rules computed at that depth; test targets",
            "levels": out}


def evaluate_rules(ctx, targets, eps):
    """The rules alone on `targets` (catnet not run): {rule: Scored}."""
    return evaluate({**ctx, "catnet": None}, targets, {}, eps)


METRICS = (("top1", "hit1"), ("top5", "hit5"), ("logLoss", "ll"))


def leads(a, b, clusters):
    """Scored `a` − Scored `b` on each metric: mean and 95 % interval over the `clusters`."""
    return {m: paired_bootstrap(a.get(k), b.get(k), clusters) for m, k in METRICS}


def fit_mix(ctx, targets, feats, boosted, eps):
    """The mix's weights fitted on `targets` (log loss); then a boost of the `boosted` rule's
    feature and one temperature. Of the boosts whose log loss, at the temperature fitted for
    it, stays no worse than the boosted rule's own on the same targets (no boost always counts):
    those whose top-1 is at least the rule's, the best top-5 (ties: top-1, then the smaller
    boost); when none, the best top-1 (ties: top-5, then the smaller boost)."""
    F = feature_tensor(ctx["tables"], ctx["markov"], targets, catnet_mod.predict(ctx["catnet"], ctx["vocab"], targets), feats) \
        if "catnet" in feats else feature_tensor(ctx["tables"], ctx["markov"], targets, None, feats)
    y = np.array([t.target for t in targets])
    w = fit(F, y)
    rule = evaluate_rules(ctx, targets, eps)[boosted]
    rule_ll, rule_top1 = rule.get("ll").mean(), rule.get("hit1").mean()
    unit = torch.eye(len(feats))[feats.index(boosted)]
    options = []
    for b in BOOSTS:
        wb = w + b * unit
        # scaling every weight alike keeps the boosted ranking and gives back its calibration
        lls = {t: log_losses(distribution(F, t * wb).numpy(), y).mean() for t in TEMPERATURES}
        tau = min(lls, key=lls.get)
        p = distribution(F, wb).numpy()
        options.append((b, tau * wb, lls[tau], topk_hits(p, y, 1).mean(), topk_hits(p, y, 5).mean()))
    allowed = [o for o in options if o[0] == 0 or o[2] <= rule_ll]
    level = [o for o in allowed if o[3] >= rule_top1]
    b, wt, *_ = max(level, key=lambda o: (o[4], o[3], -o[0])) if level else max(allowed, key=lambda o: (o[3], o[4], -o[0]))
    return (wt if b else w), b


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


def lead_segment(test, shipped, clusters):
    return leads(test[shipped], test["segment"], clusters)


def segment_note(test_summary, lead):
    if lead is None:
        return "not measured: the data has no shopper attributes and no category tree to segment shoppers by"
    s = test_summary["segment"]
    return (f"the shopper's segment is the root category most of the history falls under (the data has no shopper "
            f"attributes); the segment's category popularity reaches test top-1 {s['top1']:.3f}, top-5 {s['top5']:.3f}, "
            f"log loss {s['logLoss']:.3f}; served − segment: top-1 {lead['top1']['mean']:+.3f} "
            f"[{lead['top1']['low']:+.3f}, {lead['top1']['high']:+.3f}], top-5 {lead['top5']['mean']:+.3f} "
            f"[{lead['top5']['low']:+.3f}, {lead['top5']['high']:+.3f}]")


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
    t0 = time.time()
    command = (f"cd models/training && nice /usr/bin/python3 -m foresight_training.category.run --dataset {args.dataset}"
               f" --epochs {args.epochs} --catnet-sequences {args.catnet_sequences} --fit-targets {args.fit_targets}"
               f" --out {args.out}" + (f" --model-dir {args.model_dir}" if args.model_dir else ""))
    build(load(args.dataset), args, command, t0)


def draw_fit_targets(tasks, n, seed):
    """The validation targets the mixes and catnet's early stopping are fitted on: at most `n`,
    drawn without replacement (seeded), in validation order."""
    rng = np.random.default_rng(seed)
    return [tasks.valid[k] for k in np.sort(rng.choice(len(tasks.valid), min(len(tasks.valid), n), replace=False))]


def build(tasks, args, command, t0=None, log=print):
    """Measures every forecaster on `tasks` and writes the one to serve (see the module comment).
    `args`: out, model_dir (or None), fit_targets, epochs, dim, catnet_sequences, seed. Where
    `tasks.refit` holds every sequence (the cut-off protocol), the served rule statistics are
    counted on all of them; the measured ones on the training part. Returns the metrics."""
    t0 = time.time() if t0 is None else t0
    os.makedirs(args.out, exist_ok=True)
    tables = RuleTables(tasks.num_categories, tasks.train)
    fit_targets = draw_fit_targets(tasks, args.fit_targets, args.seed)
    model, vocab, history = catnet_mod.train(tasks, fit_targets, dim=args.dim, epochs=args.epochs, seed=args.seed,
                                             max_sequences=args.catnet_sequences, log=log)
    ctx = {"tables": tables, "markov": transition_matrix(tables), "catnet": model, "vocab": vocab}
    eps = choose_eps(ctx, fit_targets)

    # validation: the rules as they are; the mixes cross-fitted on two halves of the fit targets
    rules_valid = {k: v.summary() for k, v in evaluate_rules(ctx, fit_targets, eps).items()}
    best_rule = max(RULES, key=lambda r: (rules_valid[r]["top1"], rules_valid[r]["top5"]))
    half = len(fit_targets) // 2
    folds = (fit_targets[:half], fit_targets[half:])
    valid, fold_boosts = {}, []
    for a, b in ((0, 1), (1, 0)):
        (wm, bm), (wr, br) = fit_mix(ctx, folds[a], FEATURES, best_rule, eps), fit_mix(ctx, folds[a], RULE_FEATURES, best_rule, eps)
        fold_boosts.append({"modelMix": bm, "rulesMix": br})
        for name, sc in evaluate(ctx, folds[b], {"modelMix": (FEATURES, wm), "rulesMix": (RULE_FEATURES, wr)}, eps,
                                 anchor=best_rule).items():
            for k, v in sc.parts.items():
                valid.setdefault(name, Scored()).parts[k].extend(v)
    valid_summary = {k: v.summary() for k, v in valid.items()}

    # folds were scored second half first (a=0 scores folds[1])
    valid_clusters = np.array([t.sequence for t in folds[1] + folds[0]])
    mixes = ("modelMix", "rulesMix", "modelMixAnchored", "rulesMixAnchored")
    valid_lead = {name: leads(valid[name], valid[best_rule], valid_clusters) for name in mixes}

    def served(name):
        """What of a mix replaces the best rule, when validation says it is better: the mix, when
        ahead on top-1 with the bootstrap interval above zero; else the mix anchored on the rule
        (its top-1 the rule's by construction, on any data), when that is ahead on top-5 with the
        interval above zero; in both cases top-5 and log loss no worse than the rule's. None: neither."""
        r = valid_summary[best_rule]
        for variant, lead_on in ((name, "top1"), (name + "Anchored", "top5")):
            m = valid_summary[variant]
            if valid_lead[variant][lead_on]["low"] > 0 and m["top5"] >= r["top5"] and m["logLoss"] <= r["logLoss"]:
                return variant
        return None

    shipped = served("modelMix") or served("rulesMix") or best_rule
    anchor = best_rule if shipped.endswith("Anchored") else None
    (wm, bm), (wr, br) = fit_mix(ctx, fit_targets, FEATURES, best_rule, eps), fit_mix(ctx, fit_targets, RULE_FEATURES, best_rule, eps)
    weights = {"modelMix": (FEATURES, wm), "rulesMix": (RULE_FEATURES, wr)}
    segment = segment_popularity(tasks, tables)
    test = evaluate(ctx, tasks.test, weights, eps, extra={"segment": segment} if segment else None, anchor=best_rule)
    clusters = np.array([t.sequence for t in tasks.test])
    test_summary = {k: v.summary(reliability=k in ("modelMix", "rulesMix", "catnet", best_rule, shipped)) for k, v in test.items()}
    lead = {r: leads(test[shipped], test[r], clusters) for r in RULES}
    lead_model = leads(test["modelMix"], test[best_rule], clusters)
    base = shipped.removesuffix("Anchored")
    kind = {"modelMix": "MODEL_MIX", "rulesMix": "RULES_MIX"}.get(base, "RULE")
    feats, w = weights.get(base, (None, None))
    metrics = {
        "level": tasks.level,
        "split": tasks.split,
        "categories": tasks.num_categories,
        "forecaster": kind, "rule": shipped if kind == "RULE" else None,
        "anchor": anchor,
        "bestRuleOnValidation": best_rule,
        "features": list(feats) if feats else None,
        "weights": [round(float(x), 6) for x in w] if w is not None else None,
        "boost": {"of": best_rule, "grid": list(BOOSTS), "chosen": {"modelMix": bm, "rulesMix": br},
                  "validationFolds": fold_boosts,
                  "note": "added to the weight of the best rule's feature, chosen on the fit targets among the boosts "
                          "whose log loss (all weights scaled by one factor fitted for it) is no worse than that rule's: "
                          "the best top-5 of those level with the rule on top-1, else the best top-1"},
        "valid": {"note": f"{len(fit_targets)} validation targets; the mixes cross-fitted on two halves", **valid_summary},
        "validLeadOverBestRule": valid_lead,
        "decision": "a mix is served when on validation its top-1 lead over the best rule has a 95 % interval above zero; "
                    "else the mix anchored on the best rule (the rule's top category first, the mix's order for the rest: "
                    "top-1 the rule's by construction) when its top-5 lead has an interval above zero; in both cases "
                    "with top-5 and log loss no worse than the rule's; else the best rule",
        "test": test_summary,
        "testLeadOverRules": {"of": shipped, "intervals": "95 % paired bootstrap over sequences (1000 draws)", **lead},
        "testLeadModelMixOverBestRule": lead_model,
        "ruleSettings": {"recencyDecay": DECAY, "sessionGapSeconds": SESSION_GAP_SECONDS,
                         "sessionEventsWithoutTimes": SESSION_EVENTS, "markovPrior": MARKOV_PRIOR,
                         "logLossPopularityShare": eps},
        "catnet": {"dim": args.dim, "history": history, "items": len(vocab), "epochs": args.epochs,
               "trainingSequences": args.catnet_sequences or len(tasks.train)},
        "segmentPopularity": segment_note(test_summary, lead_segment(test, shipped, clusters) if segment else None),
        "seconds": round(time.time() - t0, 1),
        "command": command,
    }
    if tasks.refit is not None:
        metrics["servedStatistics"] = (f"the served popularity and transitions are counted on every sequence "
                                       f"({sum(map(len, tasks.refit))} events); the measured ones on the training part; "
                                       "catnet and the weights are the measured ones")
    from .serving import forecaster_spec
    levels = level_report(tasks, ctx, forecaster_spec(tasks, tables, ctx, kind, shipped, feats, w, eps, anchor), fit_targets, eps)
    if levels:
        metrics["treeLevels"] = levels
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    if tasks.refit is not None:
        tables = RuleTables(tasks.num_categories, tasks.refit)
        ctx = {**ctx, "tables": tables, "markov": transition_matrix(tables)}
    write_forecaster(args, tasks, tables, ctx, kind, shipped, feats, w, eps, anchor, metrics)
    log(json.dumps({k: {m: round(v[m], 4) for m in ("top1", "top5", "logLoss")} for k, v in test_summary.items()}, indent=0))
    log("shipped", shipped, "best rule", best_rule, "lead", json.dumps(lead[best_rule]))
    return metrics


def write_forecaster(args, tasks, tables, ctx, kind, shipped, feats, w, eps, anchor, metrics):
    from .serving import forecaster_spec, parity_cases
    spec = forecaster_spec(tasks, tables, ctx, kind, shipped, feats, w, eps, anchor)
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
        # what head.py and item_term.py measured (the item model's head, the item ranking) stays
        kept = {k: v for k, v in manifest.get("metrics", {}).get("category", {}).items() if k in KEPT}
        manifest.setdefault("metrics", {})["category"] = {k: v for k, v in metrics.items() if k != "catnet"} | {
            "catnet": {k: v for k, v in metrics["catnet"].items() if k != "history"}} | kept
        with open(path, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
