"""Scores for cold items: products the model never trained on, embedded by the content tower. A cold
item has no transition or co-occurrence counts, so under the scorer alone it ranks by its inner
product against warm items that carry those terms, and never surfaces (bench/README.md, issue 33).
Its score is instead a linear function of features the gateway computes from what it has:

  innerProduct         <u, c>: the user state with the item's content vector
  bias                 1
  neighbourTerms5/20   the scorer's term addends (score - inner product) of the item's 5 / 20
                       nearest warm items by content-vector cosine, softmax(cos / T)-weighted:
                       a new product inherits the transitions into the products it resembles
  recentSimilarity     cosine of its content vector with the newest input item's
  recentSimilarityMax3 the largest such cosine over the 3 newest input items
  sharedAttributes     attributes (brand, categories) it shares with the newest input item
  sharedAttributesMax3 the most it shares with one of the 3 newest input items

The weights minimise the cross-entropy of validation targets over all items (cold and warm targets
in their natural proportion; warm items keep the scorer's score); then one boost added to every
cold score is chosen on validation NDCG@10 over all targets, as every other scorer weight is
(the likelihood fit spreads a cold target's probability over many look-alike products; the
ranking needs the best of them on top): the largest boost whose NDCG@10 is not measurably below
the best boost's, the most exposure for new products that costs no accuracy. The fit needs items the model never saw: those of
--holdout-items. Parity: cold-parity.json (test/models/cold-items.test.ts).

  cd models/training && /usr/bin/python3 -m foresight_training.sequence.cold_items \\
      --model /tmp/exp/beauty-holdout --data ../../data/amazon/Beauty.txt \\
      --attributes ../../data/amazon/Beauty_item2attributes.json
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from .content import content_inputs
from .data import load, split
from .evaluate import load_model
from .metrics import exclude_inputs, ranks_from_scores, summarize
from .ranking import all_items, encode_pairs, history_items
from .scorer import Scorer
from .terms.category import item_category_logp

FEATURES = ("innerProduct", "bias", "neighbourTerms5", "neighbourTerms20", "recentSimilarity",
            "recentSimilarityMax3", "sharedAttributes", "sharedAttributesMax3")
NEIGHBOURS = (5, 20)
TEMPERATURE = 0.1
RECENT = 3
BOOSTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


def lifting_terms(scorer, S, x, item_attrs):
    """What the scorer adds to every item beyond the inner product and the category term: the
    addends of the terms that read the shopper's recent items (Markov, co-occurrence), the part a
    cold item inherits from its neighbours (the category term scores the neighbours' categories,
    not the cold item's: it is left out)."""
    term = S - x.dot
    cat = scorer.terms["category"] if "category" in scorer.terms else None
    if cat is not None and cat.w:
        term = term - cat.w * item_category_logp(x.category_probs, item_attrs)
    return term


def content_matrix(enc, tower, num_items, item_text, exclude=()):
    """[num_items + 1, dim] content-tower vectors of every model item (row 0 and `exclude` rows
    zero: the gateway's content_vectors.f32, where a zero row is never a neighbour)."""
    ids = torch.arange(1, num_items + 1)
    out = torch.zeros(num_items + 1, enc.dim)
    with torch.no_grad():
        out[ids] = tower(*content_inputs(enc.item_attrs, ids, item_text))
    if len(exclude):
        out[torch.as_tensor(list(exclude))] = 0.0
    return out


def neighbours(cold_vectors, content, k):
    """Each cold vector's k nearest rows of `content` by cosine (zero rows never), with their
    softmax(cos / T) weights: (indices [C, k], weights [C, k])."""
    norms = content.norm(dim=1)
    sims = F.normalize(cold_vectors, dim=1) @ (content / norms.clamp_min(1e-12).unsqueeze(1)).T
    sims[:, norms == 0] = -2.0
    s, j = sims.topk(k, dim=1)
    return j, torch.softmax(s / TEMPERATURE, dim=1)


def attribute_onehot(item_attrs, num_attrs):
    onehot = torch.zeros(item_attrs.shape[0], num_attrs + 1)
    onehot.scatter_(1, item_attrs, 1.0)
    onehot[:, 0] = 0.0
    return onehot


def cold_features(dot_cold, term, history, cold_vectors, cold_attrs_onehot, content, attrs_onehot, nbrs):
    """[B, C, len(FEATURES)] for B pairs and C cold items. dot_cold [B, C]: <u, c>; term [B, N + 1]:
    the scorer's addends beyond the inner product of every item; history [B, RECENT]: newest input
    items first (0 = none); nbrs: {k: (indices, weights)}."""
    B, C = dot_cold.shape
    out = torch.zeros(B, C, len(FEATURES))
    out[:, :, 0] = dot_cold
    out[:, :, 1] = 1.0
    for f, k in ((2, NEIGHBOURS[0]), (3, NEIGHBOURS[1])):
        j, w = nbrs[k]
        out[:, :, f] = (term[:, j] * w.unsqueeze(0)).sum(2)
    hn = F.normalize(content[history], dim=2)  # zero rows stay zero
    sim = torch.einsum("bkd,cd->bkc", hn, F.normalize(cold_vectors, dim=1))
    out[:, :, 4] = sim[:, 0]
    out[:, :, 5] = sim.max(1).values
    shared = torch.einsum("bka,ca->bkc", attrs_onehot[history], cold_attrs_onehot)
    out[:, :, 6] = shared[:, 0]
    out[:, :, 7] = shared.max(1).values
    return out


class Setting:
    """A model with held-out items, its validation/test pairs and everything the features read."""

    def __init__(self, enc, tower, ck, ds, warm_sample, seed):
        self.enc, self.ds = enc, ds
        held = set(ck.get("holdoutUsers") or [])
        self.cold = sorted(set(ck["holdout"]))
        cold = set(self.cold)
        train, _, _ = split([s for u, s in enumerate(ds.seqs) if u not in held])
        fit = [[i for i in s if i not in cold] for s in train]
        self.scorer = Scorer.from_checkpoint(ck, fit, ds.num_items, enc.dim)
        text = torch.as_tensor(ds.item_text) if ds.item_text is not None and \
            not (ck.get("args") or {}).get("no_item_text") else None
        self.cold_ids = torch.tensor(self.cold)
        self.content = content_matrix(enc, tower, ds.num_items, text, exclude=self.cold)
        with torch.no_grad():
            self.cold_vectors = tower(*content_inputs(enc.item_attrs, self.cold_ids, text))
            self.V = enc.item_vectors().detach().clone()
        self.V[self.cold_ids] = self.cold_vectors
        self.attrs_onehot = attribute_onehot(enc.item_attrs, enc.num_attrs)
        self.cold_onehot = self.attrs_onehot[self.cold_ids]
        self.nbrs = {k: neighbours(self.cold_vectors, self.content, k) for k in NEIGHBOURS}
        # every user (held-out ones too, as the API bench): valid = second-to-last item, test = last;
        # cold items leave the inputs (the gateway does not know them)
        _, valid, test = split(ds.seqs)
        rng = np.random.default_rng(seed)
        self.pairs, self.share = {}, {}
        for name, pairs in (("valid", valid), ("test", test)):
            pairs = [p for p in (([i for i in s if i not in cold], t) for s, t in pairs) if p[0]]
            c = [p for p in pairs if p[1] in cold]
            w = [p for p in pairs if p[1] not in cold]
            self.share[name] = len(c) / len(pairs)
            pick = rng.choice(len(w), min(warm_sample, len(w)), replace=False)
            self.pairs[name] = {"cold": c, "warm": [w[i] for i in sorted(pick)]}
        self.data = {name: {g: self._prepare(ps) for g, ps in groups.items()} for name, groups in self.pairs.items()}

    @torch.no_grad()
    def _prepare(self, pairs):
        U, P = encode_pairs(self.enc, pairs)
        x = all_items(U, P, self.V, self.enc.item_attrs, pairs, self.scorer.history)
        S = self.scorer.score_all(x)
        term = lifting_terms(self.scorer, S, x, self.enc.item_attrs)
        feats = cold_features(x.dot[:, self.cold_ids], term, history_items(pairs, RECENT), self.cold_vectors,
                              self.cold_onehot, self.content, self.attrs_onehot, self.nbrs)
        S = exclude_inputs(S, pairs)
        S[:, 0] = -float("inf")
        return {"S": S, "feats": feats, "targets": torch.tensor([p[1] for p in pairs]),
                "excluded": torch.isinf(S[:, self.cold_ids])}

    def scores(self, d, weights, boost=0.0):
        S = d["S"].clone()
        cold = (d["feats"] * weights).sum(2) + boost
        S[:, self.cold_ids] = cold.masked_fill(d["excluded"], -float("inf"))
        return S

    def ranks(self, split_name, weights, boost=0.0):
        return {g: ranks_from_scores(self.scores(d, weights, boost), d["targets"])
                for g, d in self.data[split_name].items()}

    def fit(self, mask):
        """Cross-entropy weights on validation (warm targets weighted up to their natural share)."""
        parts = []
        for g, d in self.data["valid"].items():
            base = d["S"].clone()
            base[:, self.cold_ids] = -float("inf")
            share = self.share["valid"] if g == "cold" else 1 - self.share["valid"]
            parts.append((d, base, share / len(d["targets"])))
        theta = torch.zeros(len(FEATURES))
        theta[0] = 1.0
        theta.requires_grad_(True)
        opt = torch.optim.LBFGS([theta], max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = 0.0
            for d, base, weight in parts:
                cold = (d["feats"] * (theta * mask)).sum(2).masked_fill(d["excluded"], -float("inf"))
                logits = base.index_put((torch.arange(len(base)).unsqueeze(1), self.cold_ids.unsqueeze(0)), cold)
                loss = loss + weight * F.cross_entropy(logits, d["targets"], reduction="sum")
            loss.backward()
            return loss
        opt.step(closure)
        return (theta.detach() * mask), float(closure())


def ndcg10(ranks):
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.where(ranks < 10, 1.0 / np.log2(ranks + 2), 0.0)


def overall_lead(st, split, a, b, draws=1000, seed=20261207):
    """Overall NDCG@10 (cold and warm in their natural share) of scores `a` minus scores `b`, each
    (weights, boost), on `split`: mean and 95 % paired bootstrap interval over pairs, cold and
    warm resampled apart."""
    share = st.share[split]
    per = [{g: ndcg10(x) for g, x in st.ranks(split, torch.as_tensor(w), boost).items()} for w, boost in (a, b)]
    rng = np.random.default_rng(seed)
    idx = {g: rng.integers(0, len(per[0][g]), (draws, len(per[0][g]))) for g in ("cold", "warm")}
    d = {g: per[0][g] - per[1][g] for g in idx}
    boot = share * d["cold"][idx["cold"]].mean(1) + (1 - share) * d["warm"][idx["warm"]].mean(1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return {"mean": float(share * d["cold"].mean() + (1 - share) * d["warm"].mean()), "low": float(low),
            "high": float(high)}


def choose_boost(st, weights, rows):
    """The largest boost whose validation NDCG@10 over all targets (cold and warm in their natural
    share) is not below the best boost's by a 95 % paired bootstrap interval (over pairs, cold and
    warm resampled apart): the most exposure for new products that costs no measurable accuracy.
    Writes each row's "vsBest" interval."""
    top = max(rows, key=lambda r: r["valid"]["overall NDCG@10"])["boost"]
    chosen = None
    for r in rows:
        lead = overall_lead(st, "valid", (weights, r["boost"]), (weights, top))
        r["valid"]["NDCG@10 vs best boost"] = {"best": top, **lead}
        if lead["high"] >= 0 and (chosen is None or r["boost"] > chosen["boost"]):
            chosen = r
    return chosen


def overall(summary, share, metric):
    return share * summary["cold"][metric] + (1 - share) * summary["warm"][metric]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a model directory trained with --holdout-items (checkpoint.pt)")
    p.add_argument("--data", required=True)
    p.add_argument("--attributes", required=True)
    p.add_argument("--warm", type=int, default=3000, help="warm pairs sampled per split")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--weights-from", metavar="MODEL_JSON",
                   help="the scorer.coldItems of another model (trained by the same recipe with "
                        "--holdout-items): with a held-out-items --model, measure them against its own fit "
                        "(--report; the model is not written); with --attach, give them to --model")
    p.add_argument("--attach", action="store_true",
                   help="write --weights-from's coldItems and this model's content vectors into --model "
                        "(a model trained on every item, which has nothing to fit on)")
    p.add_argument("--report", help="with --weights-from: where to write the transfer measurement (JSON)")
    p.add_argument("--transfer", help="with --attach: a --report to record in metrics.coldItems")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    enc, tower, ck = load_model(args.model)
    if args.attach:
        if not args.weights_from:
            raise SystemExit("--attach needs --weights-from")
        attach(args, enc, tower, ck)
        return
    if not ck.get("holdout"):
        raise SystemExit(f"{args.model}: no held-out items (train with --holdout-items): nothing to fit cold scores on")
    ds = load(args.data, args.attributes, (ck.get("args") or {}).get("max_users") or None)
    st = Setting(enc, tower, ck, ds, args.warm, args.seed)
    if args.weights_from:
        transfer(args, st)
        return
    ablation = {}
    chosen = None
    for name, used in (("scorer alone (inner product, no counts)", None),
                       ("inner product + bias", ("innerProduct", "bias")),
                       ("+ neighbours' terms", ("innerProduct", "bias", "neighbourTerms5", "neighbourTerms20")),
                       ("all features", FEATURES)):
        if used is None:
            weights = torch.zeros(len(FEATURES))
            weights[0] = 1.0
            loss = None
        else:
            mask = torch.tensor([1.0 if f in used else 0.0 for f in FEATURES])
            weights, loss = st.fit(mask)
        rows = [evaluate(st, weights, boost) for boost in (BOOSTS if used is not None else (0.0,))]
        best = choose_boost(st, weights, rows) if used is not None else rows[0]
        ablation[name] = {"weights": [round(float(w), 6) for w in weights], "validCrossEntropy": loss,
                          "boostChosen": best["boost"], "rows": rows}
        t = best["test"]
        print(f"{name}: boost {best['boost']} test cold HR@20 {t['cold']['HR@20']:.4f} warm HR@20 "
              f"{t['warm']['HR@20']:.4f} overall NDCG@10 {t['overall NDCG@10']:.4f}", flush=True)
        if used == FEATURES:
            chosen = (weights, best)
    weights, best = chosen
    record = {
        "features": list(FEATURES), "weights": [round(float(w), 6) for w in weights], "boost": best["boost"],
        "neighbours": list(NEIGHBOURS), "temperature": TEMPERATURE, "recentItems": RECENT,
        "fit": {"heldOutItems": len(st.cold), "coldTargetShare": {k: round(v, 4) for k, v in st.share.items()},
                "pairs": {sp: {g: len(ps) for g, ps in gs.items()} for sp, gs in st.pairs.items()},
                "selection": "weights: validation cross-entropy over all items; boost: the largest whose "
                             "validation NDCG@10 over all targets (cold and warm in their natural share) is not "
                             "below the best boost's (95 % paired bootstrap interval reaches 0)",
                "ablation": ablation, "seconds": round(time.time() - t0, 1),
                "command": "cd models/training && /usr/bin/python3 -m foresight_training.sequence.cold_items "
                           + " ".join(sys.argv[1:] if argv is None else argv)},
    }
    write(args.model, st, record)
    print(f"wrote {args.model}: scorer.coldItems, content_vectors.f32, cold-parity.json", flush=True)


def weights_of(path):
    meta = json.load(open(path))
    spec = (meta.get("scorer") or {}).get("coldItems")
    if not spec:
        raise SystemExit(f"{path}: no scorer.coldItems")
    if spec["features"] != list(FEATURES) or spec["neighbours"] != list(NEIGHBOURS) \
            or spec["temperature"] != TEMPERATURE or spec["recentItems"] != RECENT:
        raise SystemExit(f"{path}: scorer.coldItems has other features or settings than this fit's")
    return meta, spec


def evaluate(st, weights, boost):
    """HR/NDCG of cold and warm targets, and over all, on validation and test."""
    out = {"boost": boost}
    for sp in ("valid", "test"):
        out[sp] = {g: summarize(x) for g, x in st.ranks(sp, torch.as_tensor(weights), boost).items()}
        for metric in ("NDCG@10", "HR@20"):
            out[sp][f"overall {metric}"] = overall(out[sp], st.share[sp], metric)
        warm = out[sp]["warm"]["HR@20"]
        out[sp]["cold / warm HR@20"] = out[sp]["cold"]["HR@20"] / warm if warm > 0 else None
    return out


def transfer(args, st):
    """Another model's weights and boost on this model's held-out items, against this model's own
    fit (weights and boost chosen as main() chooses them): does a fit carry over to a model it was
    not made on (the bundled model, trained on every item, can only get its weights that way)?"""
    meta, spec = weights_of(args.weights_from)
    theirs = evaluate(st, spec["weights"], spec["boost"])
    weights, _ = st.fit(torch.ones(len(FEATURES)))
    own = choose_boost(st, weights, [evaluate(st, weights, boost) for boost in BOOSTS])
    plain = [1.0] + [0.0] * (len(FEATURES) - 1)
    alone = evaluate(st, plain, 0.0)
    for row, w in ((theirs, spec["weights"]), (own, weights)):
        row["overall NDCG@10 vs scorer alone"] = {
            sp: overall_lead(st, sp, (w, row["boost"]), (plain, 0.0)) for sp in ("valid", "test")}
    report = {
        "model": f"{args.model} ({json.load(open(os.path.join(args.model, 'model.json')))['version']})",
        "weightsFrom": f"{args.weights_from} ({meta['version']})",
        "transferred": {"weights": spec["weights"], **theirs},
        "ownFit": {"weights": [round(float(w), 6) for w in weights], **own},
        "scorerAlone": alone,
        "command": "cd models/training && /usr/bin/python3 -m foresight_training.sequence.cold_items "
                   + " ".join(sys.argv[1:]),
    }
    for name in ("scorerAlone", "transferred", "ownFit"):
        t = report[name]["test"]
        print(f"{name}: test cold HR@20 {t['cold']['HR@20']:.4f} warm HR@20 {t['warm']['HR@20']:.4f} "
              f"cold/warm {t['cold / warm HR@20'] or 0:.2f} overall NDCG@10 {t['overall NDCG@10']:.4f}", flush=True)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)


def attach(args, enc, tower, ck):
    """Gives a model trained on every item (nothing to fit cold scores on) the coldItems of a
    sibling trained by the same recipe with --holdout-items, with its own content vectors."""
    meta_from, spec = weights_of(args.weights_from)
    ds = load(args.data, args.attributes, (ck.get("args") or {}).get("max_users") or None)
    text = torch.as_tensor(ds.item_text) if ds.item_text is not None and \
        not (ck.get("args") or {}).get("no_item_text") else None
    content = content_matrix(enc, tower, ds.num_items, text)
    content.numpy().astype("<f4").tofile(os.path.join(args.model, "content_vectors.f32"))
    path = os.path.join(args.model, "model.json")
    meta = json.load(open(path))
    meta["files"]["contentVectors"] = "content_vectors.f32"
    meta.setdefault("scorer", {})["coldItems"] = spec
    fit = {"weightsFrom": meta_from["version"],
           "weightsFromTraining": (meta_from.get("training") or {}).get("command"),
           "weightsFromFit": {k: v for k, v in (meta_from.get("metrics") or {}).get("coldItems", {}).items()
                              if k not in ("ablation",)},
           "command": "cd models/training && /usr/bin/python3 -m foresight_training.sequence.cold_items "
                      + " ".join(sys.argv[1:])}
    if args.transfer:
        r = json.load(open(args.transfer))
        fit["transfer"] = {k: r[k] for k in ("model", "weightsFrom", "command")} | {
            name: {"boost": r[name]["boost"], "test": r[name]["test"]}
            for name in ("scorerAlone", "transferred", "ownFit")}
    meta.setdefault("metrics", {})["coldItems"] = fit
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)
    print(f"wrote {args.model}: scorer.coldItems from {meta_from['version']}, content_vectors.f32", flush=True)


def write(model_dir, st, record):
    """content_vectors.f32 (every model item's content vector, held-out rows zero), model.json
    scorer.coldItems and files.contentVectors, and cold-parity.json (fixtures: real test pairs)."""
    st.content.numpy().astype("<f4").tofile(os.path.join(model_dir, "content_vectors.f32"))
    path = os.path.join(model_dir, "model.json")
    meta = json.load(open(path))
    meta["files"]["contentVectors"] = "content_vectors.f32"
    meta.setdefault("scorer", {})["coldItems"] = {k: v for k, v in record.items() if k != "fit"}
    meta.setdefault("metrics", {})["coldItems"] = record["fit"]
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)
    with open(os.path.join(model_dir, "cold-parity.json"), "w") as f:
        json.dump(parity_fixture(st, record), f, separators=(",", ":"))


def parity_fixture(st, record, rows=6):
    """Real test pairs with a cold target: their inputs to the features and the features
    Python computes. The content matrix is cut down to the items the rows read (every row's
    nearest 20 and newest 3 inputs, renumbered 1..M): the nearest neighbours within it are the
    same, so test/forecast/cold-items.test.ts can search them without the whole matrix."""
    d = st.data["test"]["cold"]
    pairs = st.pairs["test"]["cold"][:rows]
    with torch.no_grad():
        U, P = encode_pairs(st.enc, pairs)
        x = all_items(U, P, st.V, st.enc.item_attrs, pairs, st.scorer.history)
        term = lifting_terms(st.scorer, st.scorer.score_all(x), x, st.enc.item_attrs)
    hist = history_items(pairs, RECENT)
    cols = [st.cold.index(t) for _, t in pairs]
    universe = sorted({int(j) for c in cols for j in st.nbrs[NEIGHBOURS[1]][0][c]}
                      | {int(h) for h in hist.flatten() if h > 0})
    new = {j: k + 1 for k, j in enumerate(universe)}
    out = []
    for b, (_, target) in enumerate(pairs):
        c = cols[b]
        out.append({
            "userState": [float(v) for v in U[b]],
            "recent": [new[int(h)] for h in hist[b] if h > 0],
            "embedding": [float(v) for v in st.cold_vectors[c]],
            "attributes": [int(a) for a in st.enc.item_attrs[target] if a > 0],
            "addends": {str(new[int(j)]): float(term[b, j]) for j in st.nbrs[NEIGHBOURS[1]][0][c]},
            "features": [float(v) for v in d["feats"][b, c]],
        })
    return _rounded({"tolerance": 1e-4, "features": list(FEATURES), "neighbours": list(NEIGHBOURS),
            "temperature": TEMPERATURE, "recentItems": RECENT, "dim": st.enc.dim,
            "content": [[float(v) for v in st.content[j]] for j in universe],
            "itemAttributes": [[int(a) for a in st.enc.item_attrs[j] if a > 0] for j in universe],
            "rows": out})


def _rounded(x):
    """Floats to 7 significant digits (float32 precision): a smaller fixture, the same test."""
    if isinstance(x, float):
        return float(f"{x:.7g}")
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    return x


if __name__ == "__main__":
    main()
