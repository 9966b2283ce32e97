"""Compares model directories on the cut-off protocol's test targets (data.py load_cutoff), all on the
same targets: those every compared model knows (target item in its vocabulary, an input item it
knows). Each model ranks as it is served (its own history exclusion); the baselines are fitted on
the events before the validation cut-off. Prints and writes (--out) each method's HR/NDCG with 95 %
bootstrap intervals, on all, novel and repeat targets, and the first model's paired NDCG@10 lead over
each other method.

  /usr/bin/python3 models/training/evaluate_cutoff.py --events events.jsonl --attributes attributes.json \\
      --dataset diginetica --model /tmp/new --model models/diginetica --out /tmp/compare.json

A model trained with the cut-off protocol is evaluated as its evaluated fit (checkpoint.pt
"evaluated": trained on the events before T_valid, as model.json metrics report it; its shipped refit
has seen the test events). Any other model directory needs checkpoint.pt (checkpoint_from_onnx.py
rebuilds it) and is evaluated as shipped, its terms' tables rebuilt from the training part of the
split it records (model.json data.split.kind: "time" or "loo").
"""
import argparse
import json
import os

import numpy as np
import torch

from .baselines import BASELINES
from .data import (Events, _sort_key, _vocabulary, apply_observed, choose_cutoffs, cutoff_split, load_events,
                   read_events, sequence_events)
from .encoder import Encoder
from .metrics import fmt, judged, paired_lead
from .ranking import rank_targets
from .scorer import Scorer


def model_view(model_dir, events, attributes, dataset):
    """(name, encoder, scorer, item_raw, exclude_history, observed) of a model directory."""
    meta = json.load(open(os.path.join(model_dir, "model.json")))
    ck = torch.load(os.path.join(model_dir, "checkpoint.pt"))
    a = ck["args"]
    kind = meta["data"]["split"]["kind"]
    hp = meta["training"]["hyperParameters"]
    if kind == "cutoff":
        ev = ck["evaluated"]
        sd, stored, item_raw = ev["encoder"], {"args": ck["args"], **ev}, ev["items"]
        ds, fit, _, _, info = load_events(events, attributes, dataset, "cutoff", hp["valid_fraction"],
                                          hp["test_fraction"], hp.get("event_features", True),
                                          valid_from=_ms(meta["data"]["split"]["cutoffs"]["valid"]),
                                          test_from=_ms(meta["data"]["split"]["cutoffs"]["test"]))
        observed = info["observed"]
        label = f"{meta['version']} (evaluated fit)"
    else:
        sd, stored = ck["encoder"], ck
        ds, fit, _, _, info = load_events(events, attributes, dataset, kind, hp.get("valid_fraction", 0.1),
                                          hp.get("test_fraction", 0.1), hp.get("event_features", True))
        item_raw, observed = ds.item_raw, meta["observed"]
        label = f"{meta['version']} (as shipped)"
    if list(ds.item_raw) != list(item_raw):
        raise SystemExit(f"{model_dir}: its vocabulary ({len(item_raw)} items) is not the one its split gives on "
                         f"these events ({ds.num_items}): not the data it was trained on")
    n_items = sd["item_emb.weight"].shape[0] - 1
    n_attrs = sd["attr_emb.weight"].shape[0] - 1
    enc = Encoder(n_items, n_attrs, sd["item_attrs"], a["dim"], a["max_len"], a["blocks"], a["heads"], a["dropout"],
                  a.get("block", "sasrec"))
    enc.load_state_dict(sd)
    enc.eval()
    scorer = Scorer.from_checkpoint(stored, fit, n_items, enc.dim)
    ex = bool(meta["scorer"].get("excludeHistory"))
    return label, enc, scorer, item_raw, ex, observed, fit


def _ms(iso):
    import datetime
    return int(round(datetime.datetime.fromisoformat(iso).timestamp() * 1000))


def test_targets(ordered, targets, item_raw, observed):
    """{(sequence, position): (input Events, target index, repeat)} of the test targets this vocabulary
    can evaluate."""
    index = {r: k + 1 for k, r in enumerate(item_raw)}
    out = {}
    for t in targets:
        if t.part != "test":
            continue
        events = ordered[t.sequence][0]
        item = events[t.position][0]
        if item not in index:
            continue
        s = sequence_events(events[:t.position], index)
        if s:
            out[(t.sequence, t.position)] = (s, index[item], any(e[0] == item for e in events[:t.position]))
    apply_observed([v[0] for v in out.values()], observed)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", required=True)
    p.add_argument("--attributes", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", action="append", required=True, help="model directory (repeat the flag)")
    p.add_argument("--valid-fraction", type=float, default=0.1)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--out", help="write the comparison as JSON here")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    raw = read_events(args.events)
    t_valid, t_test = choose_cutoffs(raw, args.valid_fraction, args.test_fraction)
    ordered, _, targets = cutoff_split(raw, t_valid, t_test)
    views = [model_view(m, args.events, args.attributes, args.dataset) for m in args.model]
    per = [test_targets(ordered, targets, v[3], v[5]) for v in views]
    common = sorted(set.intersection(*(set(x) for x in per)))
    print(f"{len(common)} test targets every model can evaluate (of {sum(1 for t in targets if t.part == 'test')}; "
          + ", ".join(f"{v[0]}: {len(x)}" for v, x in zip(views, per)) + ")", flush=True)
    repeat = [per[0][k][2] for k in common]
    ranks, result = {}, {"targets": len(common), "repeatTargets": int(sum(repeat)), "methods": {}}
    for v, x in zip(views, per):
        label, enc, scorer, _, ex, _, _ = v
        pairs = [(x[k][0], x[k][1]) for k in common]
        ranks[label] = rank_targets(enc, pairs, scorer, exclude_history=ex)
    # the baselines, fitted on the first model's training part, in its vocabulary
    label0, enc0, _, item_raw0, ex0, _, fit0 = views[0]
    pairs0 = [(per[0][k][0], per[0][k][1]) for k in common]
    for name, fn in BASELINES.items():
        ranks[f"{name} (fitted as {label0})"] = fn(fit0, pairs0, len(item_raw0), ex0)
    first = next(iter(ranks.values()))
    for name, r in ranks.items():
        j = judged(r, repeat)
        result["methods"][name] = j
        if name != label0:
            result["methods"][name]["leadOfFirstNDCG@10"] = paired_lead(first, r)
        iv = j["all"]["intervals95"]
        print(f"{name}: {fmt(j['all'], (10,))} HR@10 [{iv['HR@10'][0]:.4f}, {iv['HR@10'][1]:.4f}] NDCG@10 "
              f"[{iv['NDCG@10'][0]:.4f}, {iv['NDCG@10'][1]:.4f}]; novel ({j['novel']['users']}) NDCG@10 "
              f"{j['novel']['NDCG@10']:.4f}, repeat ({j['repeat']['users']}) NDCG@10 {j['repeat']['NDCG@10']:.4f}"
              + (f"; lead of {label0}: {result['methods'][name]['leadOfFirstNDCG@10']}" if name != label0 else ""),
              flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
