"""The served item model's category head (encoder.onnx `category_probs`) measured as the rules
are: on the same test targets, at the target's most specific category, against every rule.

  cd models/training && nice /usr/bin/python3 -m foresight_training.category.head \
      --dataset beauty --model ../beauty --out /tmp/category/beauty/head.json

The head's distribution is over all the model's attributes (broad ones too): a hit is the
target's most specific category among its top k, its log loss the head's probability of it.
Only targets whose input has an item the model knows are scored (the gateway serves the others
by popularity); the rules are scored on the same targets."""
import argparse
import json
import os

import numpy as np
import torch

from ..contract import ENCODER_EVENT_TYPES
from ..sequence.checkpoint_from_onnx import encoder_state
from ..sequence.data import Events, encoder_inputs
from ..sequence.encoder import Encoder
from .data import load
from .metrics import log_losses, paired_bootstrap, reliability_table, topk_hits
from .pool import FEATURES, feature_tensor, rule_dists, transition_matrix
from .rules import RULES, RuleTables


def load_encoder(model_dir):
    meta = json.load(open(os.path.join(model_dir, "model.json")))
    hp = meta["training"]["hyperParameters"]
    sd = encoder_state(os.path.join(model_dir, meta["files"]["encoder"]))
    enc = Encoder(meta["numItems"], meta["numAttributes"], sd["item_attrs"].numpy(), hp["dim"], hp["max_len"],
                  hp["blocks"], hp["heads"], hp["dropout"], hp.get("block", "sasrec"))
    # a model trained before the contract's newest event types has fewer event embeddings
    enc.event_emb = torch.nn.Embedding(sd["event_emb.weight"].shape[0], hp["dim"], padding_idx=0)
    enc.load_state_dict(sd, strict=True)
    enc.eval()
    vocab = json.load(open(os.path.join(model_dir, meta["files"]["vocab"])))
    return enc, meta, vocab


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--record", action="store_true", help="also record it in --model's model.json (metrics.category)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    tasks = load(args.dataset)
    enc, meta, vocab = load_encoder(args.model)
    item_index = {i: k + 1 for k, i in enumerate(vocab["items"])}
    attr_index = {a: k + 1 for k, a in enumerate(vocab["attributes"])}
    observed = set((meta.get("observed") or {}).get("eventTypes") or [])
    # the forecaster's category index → the head's attribute index
    to_attr = np.array([0] + [attr_index.get(c, 0) for c in tasks.categories[1:]])
    tables = RuleTables(tasks.num_categories, tasks.train)
    markov = transition_matrix(tables)
    rows, kept = [], []
    for t in tasks.test:
        ev = [(item_index[i], ty, tm) for i, ty, tm in zip(t.items, t.types or [None] * len(t.items), t.times)
              if i in item_index]
        if not ev:
            continue
        kept.append(t)
        if observed:
            rows.append(Events([e[0] for e in ev], [ENCODER_EVENT_TYPES.index(e[1]) if e[1] in observed else 1 for e in ev],
                               [None if e[2] is None else int(round(e[2] * 1000)) for e in ev]))
        else:
            rows.append([e[0] for e in ev])
    y = np.array([t.target for t in kept])
    ya = to_attr[y]
    out = {k: [] for k in ("hit1", "hit5", "ll", "conf", "correct")}
    with torch.no_grad():
        for s in range(0, len(rows), 512):
            ids, types, gaps = encoder_inputs(rows[s:s + 512], meta["maxLen"])
            probs = enc(ids, types, gaps)[1].numpy().astype(np.float64)
            probs[:, 0] = 0
            ta = ya[s:s + 512]
            out["hit1"].append(topk_hits(probs, ta, 1))
            out["hit5"].append(topk_hits(probs, ta, 5))
            out["ll"].append(log_losses(probs, ta))
            out["conf"].append(probs.max(1))
            out["correct"].append((probs.argmax(1) == ta).astype(float))
    head = {k: np.concatenate(v) for k, v in out.items()}
    F = feature_tensor(tables, markov, kept, np.zeros((len(kept), tables.C), np.float32), FEATURES)
    clusters = np.array([t.sequence for t in kept])
    result = {"model": meta["version"], "targets": len(kept), "of": len(tasks.test),
              "head": {"top1": float(head["hit1"].mean()), "top5": float(head["hit5"].mean()),
                       "logLoss": float(head["ll"].mean()), "reliability": reliability_table(head["conf"], head["correct"])},
              "rules": {}, "headLeadOverRules": {}}
    for r, d in rule_dists(F).items():
        scores = d.double().numpy() + 1e-6 * tables.popularity  # float64: the tie-break survives
        h1, h5 = topk_hits(scores, y, 1), topk_hits(scores, y, 5)
        result["rules"][r] = {"top1": float(h1.mean()), "top5": float(h5.mean())}
        result["headLeadOverRules"][r] = {"top1": paired_bootstrap(head["hit1"], h1, clusters),
                                          "top5": paired_bootstrap(head["hit5"], h5, clusters)}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    if args.record:
        path = os.path.join(args.model, "model.json")
        with open(path) as f:
            manifest = json.load(f)
        manifest.setdefault("metrics", {}).setdefault("category", {})["sequenceModelHead"] = {
            **result, "command": f"cd models/training && nice /usr/bin/python3 -m foresight_training.category.head "
                                 f"--dataset {args.dataset} --model {args.model} --out {args.out} --record"}
        with open(path, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
    print(json.dumps({k: result[k] for k in ("targets", "of")}), json.dumps(result["head"]["top1"]),
          json.dumps(result["head"]["top5"]), json.dumps(result["head"]["logLoss"]))


if __name__ == "__main__":
    main()
