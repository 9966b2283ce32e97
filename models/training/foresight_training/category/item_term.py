"""Would the item ranking gain from the shipped next-category forecaster? Measures, for an Amazon
model directory, the served item scores (scorer.onnx's terms over every item, own inputs left
out) plus w · log(P(the item's category) + FLOOR), P the forecaster's distribution (category.json)
after the same input, for each w of a grid, on the validation and test pairs of the model's
leave-one-out split; records the table and the weight validation chooses (as the scorer's
category term is chosen: a weight is kept only when it gains more than 1e-4 of validation
NDCG@10 over the one before) in model.json `metrics.category.itemRanking`. Measured, not served:
the gateway's scorer does not read the forecaster.

  cd models/training && nice /usr/bin/python3 -m foresight_training.category.item_term \
      --dataset beauty --model-dir ../beauty

catnet is retrained as the model's category command did (seed, epochs, sequences, fit targets)
and must reproduce the model's category-parity.json distributions, else nothing is measured.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from ..sequence.data import load as load_sequences, split
from ..sequence.evaluate import load_model
from ..sequence.metrics import exclude_inputs, ranks_from_scores, summarize
from ..sequence.ranking import all_items, encode_pairs
from ..sequence.scorer import Scorer
from . import catnet as catnet_mod
from .data import AMAZON, SHARED_DATA, Target, load
from .pool import transition_matrix
from .rules import RuleTables
from .run import draw_fit_targets
from .serving import shipped_distribution

WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
FLOOR = 1e-4  # log(FLOOR + p): an item whose category the forecaster gives nothing stays comparable
BATCH = 1024


def forecaster(dataset, model_dir, log):
    """The shipped forecaster rebuilt in Python (its rule tables and catnet), checked against the
    model directory's category-parity.json; returns (tasks, spec, tables, ctx, the largest
    difference from it)."""
    tasks = load(dataset)
    spec = json.load(open(os.path.join(model_dir, "category.json")))
    meta = json.load(open(os.path.join(model_dir, "model.json")))["metrics"]["category"]
    tables = RuleTables(tasks.num_categories, tasks.train)
    ctx = {"tables": tables, "markov": transition_matrix(tables), "catnet": None, "vocab": None}
    if spec["forecaster"] == "MODEL_MIX":
        args = dict(a.split(" ", 1) for a in meta["command"].split(" --")[1:])
        fit_targets = draw_fit_targets(tasks, int(args["fit-targets"]), 0)
        model, vocab, _ = catnet_mod.train(tasks, fit_targets, dim=meta["catnet"]["dim"], epochs=int(args["epochs"]),
                                           seed=0, max_sequences=int(args["catnet-sequences"]), log=lambda *a, **kw: None)
        ctx.update(catnet=model, vocab=vocab)
    parity = json.load(open(os.path.join(model_dir, "category-parity.json")))
    worst = 0.0
    for case in parity["cases"]:
        items = [e["itemId"] for e in case["events"]]
        t = Target([tasks.item_category[i] for i in items], items, [None] * len(items), 0, 0)
        p = shipped_distribution(spec, tables, ctx, [t])[0]
        worst = max(worst, float(np.abs(p[1:] - np.array(case["probabilities"])).max()))
    if worst > 1e-5:
        raise SystemExit(f"the rebuilt forecaster does not reproduce {model_dir}/category-parity.json "
                         f"(max |difference| {worst:.2e}): nothing measured")
    log(f"forecaster rebuilt: max |difference| from category-parity.json {worst:.1e}")
    return tasks, spec, tables, ctx, worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=tuple(AMAZON))
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    if not os.path.exists(os.path.join(args.model_dir, "checkpoint.pt")):
        from ..sequence.checkpoint_from_onnx import main as rebuild
        rebuild(["--model", args.model_dir])
    enc, _, ck = load_model(args.model_dir)
    name = AMAZON[args.dataset]
    data = os.path.join(SHARED_DATA, "amazon")
    ds = load_sequences(os.path.join(data, f"{name}.txt"), os.path.join(data, f"{name}_item2attributes.json"))
    train, valid, test = split(ds.seqs)
    scorer = Scorer.from_checkpoint(ck, train, ds.num_items, enc.dim)
    tasks, spec, tables, ctx, parity = forecaster(args.dataset, args.model_dir, print)
    served = lambda k: f"{args.dataset}:{ds.item_raw[k - 1]}"  # noqa: E731
    item_cat = torch.tensor([0] + [tasks.item_category.get(served(k), 0) for k in range(1, ds.num_items + 1)])
    V = enc.item_vectors()

    def ranks(pairs, weights):
        """Each weight's ranks of the pairs' targets; an input without a categorised item gets the
        uniform distribution (the term is then the same for every item)."""
        U, P = encode_pairs(enc, pairs)
        out = {w: [] for w in weights}
        for s in range(0, len(pairs), BATCH):
            chunk = pairs[s:s + BATCH]
            D = np.full((len(chunk), tables.C), 1.0 / tables.C)
            inputs = []
            for r, (inp, _) in enumerate(chunk):
                items = [served(i) for i in inp if served(i) in tasks.item_category]
                if items:
                    inputs.append((r, Target([tasks.item_category[i] for i in items], items, [None] * len(items), 0, 0)))
            if inputs:
                D[[r for r, _ in inputs]] = shipped_distribution(spec, tables, ctx, [t for _, t in inputs])
            term = torch.log(torch.from_numpy(D).float()[:, item_cat] + FLOOR)
            term[:, item_cat == 0] = float(np.log(FLOOR))
            base = scorer.score_all(all_items(U[s:s + BATCH], P[s:s + BATCH], V, enc.item_attrs, chunk, scorer.history))
            y = torch.tensor([p[1] for p in chunk])
            for w in weights:
                out[w].append(ranks_from_scores(exclude_inputs(base + w * term, chunk), y))
        return {w: summarize(np.concatenate(r)) for w, r in out.items()}

    grid = (0.0,) + WEIGHTS
    v, t = ranks(valid, grid), ranks(test, grid)
    chosen = 0.0
    for w in WEIGHTS:
        if v[w]["NDCG@10"] > v[chosen]["NDCG@10"] + 1e-4:
            chosen = w
    keep = ("HR@10", "NDCG@10", "HR@20", "NDCG@20")
    table = [{"weight": w, "valid": {k: round(v[w][k], 5) for k in keep}, "test": {k: round(t[w][k], 5) for k in keep}}
             for w in grid]
    for row in table:
        print(row, flush=True)
    result = {
        "note": "the served item scores + w · log(P(item's category) + 1e-4) under the shipped forecaster, own inputs "
                "excluded, leave-one-out pairs; measured, not served",
        "grid": table, "chosenOnValidation": chosen,
        "testWithChosen": {k: round(t[chosen][k], 5) for k in keep},
        "parityMaxDifference": parity,
        "seconds": round(time.time() - t0, 1),
        "command": f"cd models/training && nice /usr/bin/python3 -m foresight_training.category.item_term "
                   f"--dataset {args.dataset} --model-dir {os.path.relpath(args.model_dir, os.getcwd())}",
    }
    path = os.path.join(args.model_dir, "model.json")
    manifest = json.load(open(path))
    manifest["metrics"]["category"]["itemRanking"] = result
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"chosen on validation: {chosen}; wrote {path} metrics.category.itemRanking")


if __name__ == "__main__":
    main()
