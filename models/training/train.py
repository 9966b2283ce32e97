"""Trains the Foresight sequence model on a sequences file + attributes file and writes a model
directory (see models/README.md).

  /usr/bin/python3 models/training/train.py --data data/amazon/Beauty.txt \
      --attributes data/amazon/Beauty_item2attributes.json --out models/beauty
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from content_training import train_content  # noqa: E402
from cooccurrence import DECAY, SEQUENTIAL_ALPHAS, Cooccurrence, select  # noqa: E402
from data import load, split  # noqa: E402
from encoder_training import (Markov, encode_pairs, history_items, newest_items, rank_encoded,  # noqa: E402
                               rank_targets, score_encoded,
                               train_encoder, unknown_like)
from export import export  # noqa: E402
from markov_refine import STEPS, fit_refine  # noqa: E402
from metrics import exclude_inputs, fmt, summarize  # noqa: E402
from model import Encoder, Scorer  # noqa: E402
from data import left_pad  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="sequences file (user item item ...)")
    p.add_argument("--attributes", required=True, help="item -> attribute ids JSON")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--block", choices=["sasrec", "ligr"], default="sasrec",
                   help="Transformer layer: SASRec's (pre-norm, GELU FFN) or eSASRec's LiGR (gated residuals, SwiGLU)")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=10, help="evaluations without validation gain")
    p.add_argument("--eval-every", type=int, default=2)
    p.add_argument("--negatives", type=int, default=0,
                   help="sampled softmax over this many shared uniform negatives (0 = full softmax)")
    p.add_argument("--markov", action="store_true",
                   help="learn the scorer's first-order Markov term (transition counts) jointly")
    p.add_argument("--markov-refine", action="store_true",
                   help="after the encoder, fit per-user gates and a small MLP of (count, out, inner product) "
                        "that reshape the Markov term (model.MarkovRefine; same scorer inputs)")
    p.add_argument("--markov-items", type=int, default=1, metavar="K",
                   help="with --markov-refine: the refined term sums the transitions of the K newest items "
                        "(scorer inputs [B, K, N] and [B, K], model.json scorer.markovItems; 1 = newest item only)")
    p.add_argument("--cooccurrence", action="store_true",
                   help="add the item co-occurrence term to the scorer (weight and window chosen on validation; "
                        "needs --markov-refine --markov-items K > 1)")
    p.add_argument("--cooccurrence-neighbors", type=int, default=50, metavar="M",
                   help="most similar items kept per item for the co-occurrence term")
    p.add_argument("--cooccurrence-sequential", type=int, default=0, metavar="G",
                   help="add sequential rules to the co-occurrence table: alpha * log(1 + how often j came 2 .. G "
                        "positions after i), alpha chosen on validation with the weight and window (0 = off)")
    p.add_argument("--exclude-history", action="store_true",
                   help="choose the co-occurrence term and report metrics with each user's own input items left out "
                        "of the ranking (the S3-Rec family's protocol; served with filter.excludeSeen)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (0 = Adam)")
    p.add_argument("--cat-weight", type=float, default=0.1, help="weight of the next-attribute loss")
    p.add_argument("--content-epochs", type=int, default=5)
    p.add_argument("--holdout-items", type=float, default=0.0,
                   help="fraction of items removed from training entirely (cold-start evaluation)")
    p.add_argument("--holdout-users", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of users (drawn with --seed) removed from training entirely: encoder, transition "
                        "and co-occurrence counts, validation (evaluate.py ranks their first items: cold-start users)")
    p.add_argument("--encoder-from", metavar="CHECKPOINT",
                   help="take the encoder (and Markov weights) from a checkpoint.pt of the same data and "
                        "settings instead of training it; the content tower, scorer and export run as usual")
    p.add_argument("--max-users", type=int, default=0, help="use only the first N users (smoke tests)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after N optimizer steps, of the encoder and of --markov-refine (smoke tests)")
    p.add_argument("--time-budget", type=float, default=0, help="stop training after N minutes")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def encoder_from(enc, path, train_seqs, args):
    """The encoder-training result stored in a checkpoint.pt (see --encoder-from)."""
    ck = torch.load(path)
    defaults = vars(parse_args(["--data", "", "--attributes", "", "--out", ""]))
    ck["args"] = {**defaults, **ck["args"]}  # options added since the checkpoint was written
    for k in ("dim", "max_len", "blocks", "heads", "block", "markov", "holdout_items", "holdout_users", "seed",
              "max_users"):
        if ck["args"].get(k) != getattr(args, k):
            raise SystemExit(f"--encoder-from: {path} was trained with --{k.replace('_', '-')} "
                             f"{ck['args'].get(k)}, not {getattr(args, k)}")
    enc.load_state_dict(ck["encoder"])
    # the recorded hyper-parameters are the encoder's, whatever this command line says
    for k in ("dropout", "lr", "batch", "epochs", "patience", "eval_every", "negatives", "label_smoothing", "weight_decay",
              "cat_weight", "max_steps"):
        setattr(args, k, ck["args"][k])
    t = ck.get("training")
    meta_path = os.path.join(os.path.dirname(path), "model.json")
    meta = json.load(open(meta_path))["training"] if os.path.exists(meta_path) else {}
    if t is None:  # checkpoints written before "training" was stored: take it from model.json
        t = {k: meta.get(k) for k in ("bestEpoch", "epochsRun", "seconds")}
        t["validNDCG@10"] = max([h["NDCG@10"] for h in ck.get("history") or []] + [0.0])
        t = {k: v for k, v in t.items() if v is not None}
    args.encoder_command = meta.get("encoderCommand") or meta.get("command")
    return {"markov": Markov(train_seqs, enc.num_items) if args.markov else None,
            "beta": torch.tensor(ck["markov"]) if ck.get("markov") else None,
            "best_epoch": t.get("bestEpoch", 0), "best_valid_ndcg10": t.get("validNDCG@10", 0.0),
            "epochs_run": t.get("epochsRun", 0), "seconds": t.get("seconds", 0.0), "history": ck.get("history", [])}


def held_out_users(num_users, fraction, seed):
    """Row indices (file order) of the users --holdout-users removes from training, ascending. A
    random stream of its own, so --holdout-items draws the same items with or without it."""
    n = int(round(fraction * num_users))
    return sorted(int(u) for u in np.random.default_rng([seed, 1]).choice(num_users, n, replace=False))


def write_heldout(path, ds, items, users):
    """heldout.json: the held-out items and users as the gateway's external ids (models/README.md)."""
    with open(path, "w") as f:
        json.dump({"dataset": ds.name, "items": [f"{ds.name}:{ds.item_raw[i - 1]}" for i in items],
                   "users": [f"{ds.name}:{ds.users[u]}" for u in users]}, f)


def main(argv=None):
    args = parse_args(argv)
    if not 0 <= args.holdout_users < 1:
        raise SystemExit(f"--holdout-users must be at least 0 and below 1, not {args.holdout_users:g}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    t0 = time.time()
    ds = load(args.data, args.attributes, args.max_users or None)
    held_users = held_out_users(len(ds.seqs), args.holdout_users, args.seed) if args.holdout_users > 0 else []
    gone = set(held_users)
    train_seqs, valid, test = split([s for u, s in enumerate(ds.seqs) if u not in gone])
    holdout = []
    if args.holdout_items > 0:
        rng = np.random.default_rng(args.seed)
        n = int(round(args.holdout_items * ds.num_items))
        holdout = sorted(int(i) for i in rng.choice(np.arange(1, ds.num_items + 1), n, replace=False))
        cold = set(holdout)
        train_seqs = [[i for i in s if i not in cold] for s in train_seqs]
        valid = [([i for i in s if i not in cold], t) for s, t in valid if t not in cold]
    print(f"{ds.name}: {len(ds.seqs)} users, {ds.num_items} items, {ds.num_attrs} attributes, "
          f"{sum(map(len, ds.seqs))} events; held-out items: {len(holdout)}"
          + (f", held-out users: {len(held_users)}" if held_users else ""), flush=True)

    enc = Encoder(ds.num_items, ds.num_attrs, ds.item_attrs, args.dim, args.max_len, args.blocks,
                  args.heads, args.dropout, args.block)
    if args.encoder_from:
        info = encoder_from(enc, args.encoder_from, train_seqs, args)
    else:
        info = train_encoder(enc, train_seqs, valid, args)
    enc.eval()
    print(f"best epoch {info['best_epoch']} valid NDCG@10 {info['best_valid_ndcg10']:.4f}", flush=True)

    # Scorer weight on log category probability: chosen on validation only.
    U, P, T = encode_pairs(enc, valid)
    V = enc.item_vectors().detach()
    mk = (info["markov"], info["beta"]) if args.markov else None
    last = newest_items(valid)
    best_w, best_v = 0.0, summarize(rank_encoded(U, P, T, V, markov=mk, last=last))["NDCG@10"]
    base_v = best_v
    for w in (0.05, 0.1, 0.2, 0.4):
        v = summarize(rank_encoded(U, P, T, V, enc.item_attrs, w, markov=mk, last=last))["NDCG@10"]
        print(f"scorer weight {w}: valid NDCG@10 {v:.4f} (inner product {base_v:.4f})", flush=True)
        if v > best_v + 1e-4:
            best_w, best_v = w, v

    # Content tower (and --markov-refine) on (user state, next item) pairs from the training sequences.
    with torch.no_grad():
        seqs = sorted((s[-(args.max_len + 1):] for s in train_seqs if len(s) >= 2), key=len)
        Us, Ts, Ls = [], [], []
        for b in range(0, len(seqs), 1024):
            chunk = seqs[b:b + 1024]
            width = len(chunk[-1]) - 1
            x = torch.from_numpy(left_pad([s[:-1] for s in chunk], width))
            y = torch.from_numpy(left_pad([s[1:] for s in chunk], width))
            h, _ = enc.hidden(x, unknown_like(x), unknown_like(x))
            Us.append(h[y > 0])
            Ts.append(y[y > 0])
            # the K newest input items at each position, newest first (0 where there are fewer)
            hist = [torch.nn.functional.pad(x, (k, 0))[:, :width] for k in range(args.markov_items)]
            Ls.append(x[y > 0] if args.markov_items == 1 else torch.stack([hk[y > 0] for hk in hist], 1))
    refine = None
    if args.markov_items > 1 and not args.markov_refine:
        raise SystemExit("--markov-items needs --markov-refine")
    if args.markov_refine:
        if not args.markov:
            raise SystemExit("--markov-refine needs --markov")
        if args.markov_items > 1:
            last = history_items(valid, args.markov_items)
        refine = fit_refine(info["markov"], info["beta"], torch.cat(Us), torch.cat(Ts), torch.cat(Ls), V, args.seed,
                            steps=args.max_steps or STEPS)
        mk = (info["markov"], info["beta"], refine)
        v = summarize(rank_encoded(U, P, T, V, enc.item_attrs, best_w, markov=mk, last=last))["NDCG@10"]
        print(f"markov refine: valid NDCG@10 {v:.4f} (plain term {best_v:.4f})", flush=True)
        info["best_valid_ndcg10"] = v
    cooc = None
    if args.cooccurrence:
        if args.markov_items < 2:
            raise SystemExit("--cooccurrence needs --markov-refine --markov-items K > 1")
        alphas = SEQUENTIAL_ALPHAS if args.cooccurrence_sequential >= 2 else (0.0,)
        matrices = Cooccurrence.grid(train_seqs, ds.num_items, args.cooccurrence_neighbors,
                                     args.cooccurrence_sequential, alphas)
        hist = history_items(valid, args.markov_items)

        def base_scores(s, e):
            scores = score_encoded(U[s:e], P[s:e], V, enc.item_attrs, best_w, mk, hist[s:e])
            return exclude_inputs(scores, valid[s:e]) if args.exclude_history else scores

        alpha, cw, window, _ = select(matrices, base_scores, valid)
        matrix = matrices[alpha]
        print(f"cooccurrence: {matrix.pairs} pairs, alpha {alpha:g}, weight {cw:g}, window {window}", flush=True)
        if cw > 0:
            cooc = (matrix, cw, window, DECAY)
    if args.exclude_history or cooc is not None:
        info["best_valid_ndcg10"] = summarize(rank_targets(enc, valid, cat_weight=best_w, markov=mk, cooc=cooc,
                                                           exclude_history=args.exclude_history))["NDCG@10"]
    scorer = Scorer(best_w, info["beta"].tolist() if args.markov else None, refine,
                    cooc[1] if cooc is not None else None)
    cold = set(holdout)
    warm_items = [i for i in range(1, ds.num_items + 1) if i not in cold]
    tower = train_content(enc, (torch.cat(Us), torch.cat(Ts)), warm_items, args)

    test_m = summarize(rank_targets(enc, test, cat_weight=best_w, markov=mk, cooc=cooc,
                                    exclude_history=args.exclude_history))
    print(f"test (quick check, selection was on validation): {fmt(test_m)}", flush=True)
    # with --encoder-from, the encoder's own training time plus this run's
    seconds = time.time() - t0 + (info["seconds"] if args.encoder_from else 0.0)
    info.update({"trainSeconds": round(seconds, 1), "scorerCategoryWeight": best_w})
    hp = {k: getattr(args, k) for k in ("dim", "max_len", "blocks", "heads", "block", "dropout", "lr", "batch", "epochs",
                                        "patience", "eval_every", "negatives", "markov", "label_smoothing",
                                        "markov_refine", "weight_decay", "cat_weight",
                                        "content_epochs", "holdout_items", "max_users", "max_steps", "seed")}
    if args.markov_items > 1:  # (absent with the default, so a K = 1 model.json is as before)
        hp["markov_items"] = args.markov_items
    if args.cooccurrence:
        hp["cooccurrence"], hp["cooccurrence_neighbors"] = True, args.cooccurrence_neighbors
        if args.cooccurrence_sequential:
            hp["cooccurrence_sequential"] = args.cooccurrence_sequential
    if args.exclude_history:
        hp["exclude_history"] = True
    data = {}
    if held_users:  # (absent without --holdout-users, so model.json is as before)
        hp["holdout_users"] = args.holdout_users
        data = {"heldOutUsers": len(held_users),
                "trainedOn": "leave-one-out training part of the users not held out (--holdout-users)"}
    meta = export(args.out, ds, enc, scorer, tower, {
        "data": {"sequences": os.path.basename(args.data), "attributes": os.path.basename(args.attributes),
                 "users": len(ds.seqs), "events": sum(map(len, ds.seqs)),
                 "trainedOn": "leave-one-out training part (each user's sequence without the last two items)",
                 "heldOutItems": len(holdout), **data},
        "training": {"command": "npm run train -- " + " ".join(sys.argv[1:] if argv is None else argv),
                     "hyperParameters": hp, "bestEpoch": info["best_epoch"], "epochsRun": info["epochs_run"],
                     "seconds": info["trainSeconds"], "threads": args.threads,
                     **({"encoderCommand": args.encoder_command} if args.encoder_from else {})},
        "metrics": {"validNDCG@10": info["best_valid_ndcg10"], "test": test_m},
    }, parity_seqs=[s for s, _ in test[:4]] + [test[0][0][-1:]] + [test[5][0]], markov=info["markov"],
       cooc=None if cooc is None else (cooc[0], cooc[2], cooc[3]), exclude_history=args.exclude_history)
    torch.save({"args": vars(args), "encoder": enc.state_dict(), "content": tower.state_dict(),
                "training": {"bestEpoch": info["best_epoch"], "epochsRun": info["epochs_run"],
                             "seconds": info["seconds"], "validNDCG@10": info["best_valid_ndcg10"]},
                "scorerWeight": best_w, "markov": info["beta"].tolist() if args.markov else None,
                "markovRefine": refine.state_dict() if refine is not None else None,
                "cooccurrence": None if cooc is None else {"weight": cooc[1], "window": cooc[2], "decay": cooc[3],
                                                           "neighbors": args.cooccurrence_neighbors,
                                                           "sequential": cooc[0].sequential},
                "holdout": holdout, "holdoutUsers": held_users, "history": info["history"]},
               os.path.join(args.out, "checkpoint.pt"))
    if holdout or held_users:
        write_heldout(os.path.join(args.out, "heldout.json"), ds, holdout, held_users)
    print(f"wrote {args.out} ({meta['version']}) in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
