"""Evaluates a trained model directory and the baselines with one piece of code on one split,
and records the numbers in models/metrics.json.

  /usr/bin/python3 models/training/evaluate.py --data data/amazon/Beauty.txt \
      --attributes data/amazon/Beauty_item2attributes.json --model models/beauty

Leave-one-out: valid = predict the second-to-last item from the items before it; test = predict
the last item from all items before it (the validation item included). Full ranking over all items.
Needs the model directory's checkpoint.pt (written by train.py next to the ONNX files).
With --exclude-history each user's own input items are left out of the ranking (the S3-Rec
family's full-sort protocol; the gateway's filter.excludeSeen), for the model and the baselines
alike, and the entry is stored under "<dataset>-history-excluded".

A model trained with --holdout-users is evaluated on the users it was trained on (valid/test,
baselines fitted on the same training part), and on the held-out users as cold-start shoppers:
input = their first k items (--prefix), target = item k + 1, ranked over all items by the model
and the baselines; users whose first k + 1 items include a held-out item (--holdout-items) are
left out. The entry is stored under "<dataset>-cold-users" (+ "-history-excluded").
"""
import argparse
import json
import os
import sys
import time

import torch

from ..paths import MODELS
from .baselines import BASELINES
from .content import ContentTower, content_inputs
from .data import load, split
from .encoder import Encoder
from .metrics import fmt, paired_lead, summarize
from .ranking import rank_targets
from .scorer import Scorer


def load_model(model_dir):
    ck = torch.load(os.path.join(model_dir, "checkpoint.pt"))
    a = ck["args"]
    sd = ck["encoder"]
    n_items = sd["item_emb.weight"].shape[0] - 1
    n_attrs = sd["attr_emb.weight"].shape[0] - 1
    enc = Encoder(n_items, n_attrs, sd["item_attrs"], a["dim"], a["max_len"], a["blocks"], a["heads"], a["dropout"],
                  a.get("block", "sasrec"))
    enc.load_state_dict(sd)
    enc.eval()
    tower = ContentTower(n_attrs, a["dim"])
    tower.load_state_dict(ck["content"])
    tower.eval()
    return enc, tower, ck


def cold_start(enc, tower, test, holdout, scorer, item_text=None):
    """Held-out items never appeared in training: drop them from the inputs (the gateway does the
    same for unknown items) and give them content-tower embeddings; rank over all items by the
    scorer without its co-occurrence term, as coldStart has always been measured (so recorded
    numbers reproduce)."""
    scorer = Scorer([t for name, t in scorer.terms.items() if name != "cooccurrence"])
    cold = set(holdout)
    with torch.no_grad():
        V = enc.item_vectors().clone()
        ids = torch.tensor(holdout)
        V[ids] = tower(*content_inputs(enc.item_attrs, ids, item_text))
    pairs = [([i for i in s if i not in cold], t) for s, t in test]
    pairs = [p for p in pairs if p[0]]
    cold_pairs = [p for p in pairs if p[1] in cold]
    warm_pairs = [p for p in pairs if p[1] not in cold]
    learned_only = enc.item_vectors().detach()
    return {
        "heldOutItems": len(holdout),
        "coldTargets (content-tower embeddings)": summarize(
            rank_targets(enc, cold_pairs, scorer, item_vecs=V)),
        "coldTargets (untrained id embeddings, for contrast)": summarize(
            rank_targets(enc, cold_pairs, scorer, item_vecs=learned_only)),
        "warmTargets": summarize(rank_targets(enc, warm_pairs, scorer, item_vecs=V)),
    }


def prefix_pairs(seqs, k, cold=frozenset()):
    """(first k items, item k + 1) of each sequence longer than k whose first k + 1 items are all
    warm (none of them in `cold`)."""
    return [(s[:k], s[k]) for s in seqs if len(s) > k and not cold.intersection(s[:k + 1])]


def cold_users(enc, ck, seqs, fit, num_items, prefixes, scorer, ex, baselines=True):
    """The held-out users' first items (see the module doc): {k: {method: summary}}, the model as
    served and by its inner product alone, the baselines fitted on `fit` (the model's training part)."""
    cold = set(ck.get("holdout") or [])
    users = [seqs[u] for u in ck["holdoutUsers"]]
    out = {"heldOutUsers": len(users),
           "protocol": "input = a held-out user's first k items, target = item k + 1, full ranking over all items"
                       + (" except the input items" if ex else "") + ", ties count half",
           "prefixes": {}}
    for k in prefixes:
        pairs = prefix_pairs(users, k, cold)
        served = rank_targets(enc, pairs, scorer, exclude_history=ex)
        rows = {"model (as served: scorer.onnx over all items)": summarize(served),
                "model, encoder inner product only": summarize(rank_targets(enc, pairs, exclude_history=ex))}
        leads = {}
        if baselines:
            for name, fn in BASELINES.items():
                ranks = fn(fit, pairs, num_items, ex)
                rows[name] = summarize(ranks)
                leads[name] = paired_lead(served, ranks)
        out["prefixes"][str(k)] = {"skippedColdItems": len(users) - len(pairs), "rows": rows,
                                   "servedLeadNDCG@10": leads}
        for name, d in leads.items():
            print(f"cold users, first {k}: model lead over {name}: NDCG@10 {d['lead']:+.4f} "
                  f"[{d['low']:+.4f}, {d['high']:+.4f}]", flush=True)
        for name, m in rows.items():
            print(f"cold users, first {k}: {name}: users {m['users']} {fmt(m, (10, 20))}", flush=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--attributes", required=True)
    p.add_argument("--model", help="model directory (with checkpoint.pt); omit for baselines only")
    p.add_argument("--metrics", default=os.path.join(MODELS, "metrics.json"),
                   help="JSON file to update (default models/metrics.json)")
    p.add_argument("--key", help="entry name in the metrics file (default: the dataset name)")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--exclude-history", action="store_true",
                   help="leave each user's own input items out of the ranking (model and baselines)")
    p.add_argument("--prefix", default="1,2", metavar="K,K",
                   help="with a model trained with --holdout-users: the held-out users' prefix lengths to rank")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()

    enc, tower, ck = load_model(args.model) if args.model else (None, None, {})
    # the users the model was trained on (--max-users, --holdout-users); the held-out ones are cold
    ds = load(args.data, args.attributes, (ck.get("args") or {}).get("max_users") or None)
    held = set(ck.get("holdoutUsers") or [])
    train, valid, test = split([s for u, s in enumerate(ds.seqs) if u not in held])
    ex = args.exclude_history
    result = {"dataset": ds.name, "users": len(ds.seqs), "items": ds.num_items,
              "protocol": ("leave-one-out, full ranking over all items the user has not interacted with "
                           "(own input items excluded), ties count half") if ex else
                          "leave-one-out, full ranking over all items, ties count half"}
    command = "npm run evaluate -- " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.model:
        # the training part the model saw (held-out items removed): the terms' tables (transition and
        # co-occurrence counts) are rebuilt from it
        cold = set(ck.get("holdout") or [])
        fit = [[i for i in s if i not in cold] for s in train] if cold else train
        scorer = Scorer.from_checkpoint(ck, fit, ds.num_items, enc.dim)
        # valid/test: the served ranking (scorer.onnx over all items); "encoderOnly": the inner
        # product alone, i.e. what pgvector's nearest-neighbour search ranks by
        m = {"model": os.path.normpath(args.model),
             "valid": summarize(rank_targets(enc, valid, scorer, exclude_history=ex)),
             "test": summarize(rank_targets(enc, test, scorer, exclude_history=ex))}
        if scorer.terms:
            m["encoderOnly"] = {"valid": summarize(rank_targets(enc, valid, exclude_history=ex)),
                                "test": summarize(rank_targets(enc, test, exclude_history=ex))}
        m["scorerCategoryWeight"] = ck["scorerWeight"]
        m["scorerMarkov"] = ck.get("markov")
        meta_path = os.path.join(args.model, "model.json")
        if os.path.exists(meta_path):
            meta = json.load(open(meta_path))
            m["version"] = meta["version"]
            m["training"] = {k: v for k, v in meta["training"].items() if k != "hyperParameters"}
        print(f"model valid: {fmt(m['valid'])}\nmodel test:  {fmt(m['test'])}", flush=True)
        if ck.get("holdout"):
            text = None if (ck.get("args") or {}).get("no_item_text") or ds.item_text is None else \
                torch.as_tensor(ds.item_text)
            m["coldStart"] = cold_start(enc, tower, test, ck["holdout"], scorer, text)
            print("cold start:", json.dumps(m["coldStart"], indent=1), flush=True)
        result["model"] = m
        result["modelCommand"] = command
        if held:
            result["coldUsers"] = cold_users(enc, ck, ds.seqs, fit, ds.num_items,
                                             [int(k) for k in args.prefix.split(",")], scorer, ex,
                                             not args.no_baselines)
    if not args.no_baselines:
        result["baselines"] = {}
        result["baselinesCommand"] = command
        # fitted on the model's training part (held-out items removed; the same as train without a model)
        fit = fit if args.model else train
        for name, fn in BASELINES.items():
            r = {"valid": summarize(fn(fit, valid, ds.num_items, ex)),
                 "test": summarize(fn(fit, test, ds.num_items, ex))}
            result["baselines"][name] = r
            print(f"{name}: test {fmt(r['test'])}", flush=True)
    result["seconds"] = round(time.time() - t0, 1)

    path = os.path.abspath(args.metrics)
    allm = json.load(open(path)) if os.path.exists(path) else {}
    # merge, so model and baselines can be evaluated by separate runs into one entry
    key = ds.name + ("-cold-users" if held else "") + ("-history-excluded" if ex else "")
    allm.setdefault(args.key or key, {}).update(result)
    with open(path, "w") as f:
        json.dump(allm, f, indent=2)
    print(f"wrote {path}")
