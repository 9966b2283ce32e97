"""Trains the Foresight sequence model and writes a model directory (see models/README.md), from
a sequences file + attributes file (Amazon, S3-Rec format; leave-one-out), from an events file
(event types and times; models/training/data.py), or straight from the gateway's database
(--from-db: exports the dataset with src/training/export-dataset.ts first; docs/training.md).

  /usr/bin/python3 models/training/train.py --data data/amazon/Beauty.txt \
      --attributes data/amazon/Beauty_item2attributes.json --out models/beauty
  /usr/bin/python3 models/training/train.py --from-db --dataset myshop --out models/myshop
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from baselines import BASELINES  # noqa: E402
from content_training import train_content  # noqa: E402
from cooccurrence import DECAY, SEQUENTIAL_ALPHAS, Cooccurrence, select  # noqa: E402
from data import encoder_inputs, left_pad, load, load_events, split  # noqa: E402
from encoder_training import (Markov, encode_pairs, history_items, newest_items, rank_encoded,  # noqa: E402
                               rank_targets, score_encoded,
                               train_encoder)
from export import export  # noqa: E402
from markov_refine import STEPS, fit_refine  # noqa: E402
from metrics import exclude_inputs, fmt, paired_lead, summarize  # noqa: E402
from model import Encoder, Scorer  # noqa: E402
from model_card import write_events_card  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXPORTER = "src/training/export-dataset.ts"
# the least a dataset needs before training is attempted (events format)
MIN_TRANSITIONS = 100
MIN_ITEMS = 10
# the baselines' dense item x item tables stop fitting in memory beyond this many items
BASELINE_MAX_ITEMS = 30_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="sequences file (user item item ...)")
    p.add_argument("--events", metavar="FILE",
                   help="events file (JSON lines, one sequence per line; models/training/data.py), with --dataset")
    p.add_argument("--from-db", action="store_true",
                   help="export --dataset from the database (DATABASE_URL, else PGlite in DATA_DIR) with "
                        f"{EXPORTER}, then train on it as on --events")
    p.add_argument("--dataset", help="with --events / --from-db: the gateway's dataset name (model.json dataset)")
    p.add_argument("--attributes", help="item -> attribute ids JSON (with --data / --events)")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--split", choices=["auto", "loo", "time"], default="auto",
                   help="loo: leave-one-out per sequence; time: the newest sequences (by last event time) are "
                        "held out and their last item predicted (session-based protocol); auto: loo for --data, "
                        "time for events with times")
    p.add_argument("--valid-fraction", type=float, default=0.1,
                   help="--split time: share of the sequences (of 2 or more events) held out for validation")
    p.add_argument("--test-fraction", type=float, default=0.1,
                   help="--split time: share of the newest sequences (of 2 or more events) held out for test")
    p.add_argument("--no-event-features", action="store_true",
                   help="events format: feed event types and time gaps as unknown (1), as for the sequences "
                        "format (model.json observed is then empty; an ablation)")
    p.add_argument("--metrics", metavar="FILE",
                   help="events format: also record the model's and the baselines' numbers in this metrics "
                        "JSON (e.g. models/metrics.json), under --metrics-key")
    p.add_argument("--metrics-key", help="entry name in --metrics (default <dataset>-<split>[-no-event-features])")
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


def check_args(args):
    """Every flag combination is checked here, before any work starts."""
    sources = [f for f, given in (("--data", args.data), ("--events", args.events), ("--from-db", args.from_db))
               if given]
    if len(sources) != 1:
        raise SystemExit("give exactly one of --data (sequences file), --events (events file) or --from-db"
                         + (f", not {' and '.join(sources)}" if sources else ""))
    events = not args.data
    if args.from_db and args.attributes:
        raise SystemExit("--from-db reads the items' categories from the database: drop --attributes")
    if not args.from_db and not args.attributes:
        raise SystemExit(f"{sources[0]} needs --attributes")
    if events and not args.dataset:
        raise SystemExit(f"{sources[0]} needs --dataset (the gateway's dataset name)")
    if args.data and args.dataset:
        raise SystemExit("--dataset is for --events / --from-db; a sequences file's name gives its dataset")
    if args.data and args.split == "time":
        raise SystemExit("--split time needs event times, which a sequences file has not: use --events or --from-db")
    if args.data and (args.no_event_features or args.metrics or args.metrics_key):
        flag = "--no-event-features" if args.no_event_features else "--metrics"
        raise SystemExit(f"{flag} is for --events / --from-db (for a sequences file, evaluate.py writes the metrics)")
    if args.metrics_key and not args.metrics:
        raise SystemExit("--metrics-key needs --metrics")
    if events:
        for flag, given in (("--holdout-items", args.holdout_items), ("--holdout-users", args.holdout_users),
                            ("--encoder-from", args.encoder_from)):
            if given:
                raise SystemExit(f"{flag} is not supported with {sources[0]} (sequences files only)")
    for flag, v in (("--valid-fraction", args.valid_fraction), ("--test-fraction", args.test_fraction)):
        if not 0 < v < 1:
            raise SystemExit(f"{flag} must be above 0 and below 1, not {v:g}")
    if args.valid_fraction + args.test_fraction >= 1:
        raise SystemExit("--valid-fraction and --test-fraction must leave sequences to train on")
    if not 0 <= args.holdout_users < 1:
        raise SystemExit(f"--holdout-users must be at least 0 and below 1, not {args.holdout_users:g}")
    if args.markov_items > 1 and not args.markov_refine:
        raise SystemExit("--markov-items needs --markov-refine")
    if args.markov_refine and not args.markov:
        raise SystemExit("--markov-refine needs --markov")
    if args.cooccurrence and args.markov_items < 2:
        raise SystemExit("--cooccurrence needs --markov-refine --markov-items K > 1")
    if args.from_db and shutil.which("npx") is None:
        raise SystemExit(f"--from-db runs {EXPORTER} with npx, which is not on PATH")
    for path in (args.data, args.events, args.attributes):
        if path and not os.path.isfile(path):
            raise SystemExit(f"no such file: {path}")


def export_from_db(dataset, into):
    """Runs the TypeScript exporter (it reads the database through the gateway's own Db layer and
    closes it before it exits, which PGlite's one-process lock needs); returns the events and
    attributes files it wrote."""
    cmd = ["npx", "tsx", EXPORTER, "--dataset", dataset, "--out", into]
    print(f"exporting {dataset} from the database: {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"--from-db: exporting dataset {dataset} failed (exit {done.returncode}; "
                         "the exporter's message is above)")
    return os.path.join(into, "events.jsonl"), os.path.join(into, "attributes.json")


def load_events_data(args):
    """The events format (--events / --from-db): Dataset, train, valid, test and the split's info;
    refuses a dataset too small to train on, naming its counts."""
    tmp = tempfile.mkdtemp(prefix="foresight-export-") if args.from_db else None
    try:
        events, attributes = export_from_db(args.dataset, tmp) if args.from_db else (args.events, args.attributes)
        ds, train, valid, test, info = load_events(events, attributes, args.dataset, args.split, args.valid_fraction,
                                                   args.test_fraction, not args.no_event_features,
                                                   args.max_users or None)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    kind = info["split"]
    transitions = sum(len(s) - 1 for s in train if len(s) >= 2)
    if transitions < MIN_TRANSITIONS or ds.num_items < MIN_ITEMS or not valid or not test:
        raise SystemExit(
            f"dataset {args.dataset} has too few events to train: {info['events']} events in {info['sequences']} "
            f"sequences; the training part has {transitions} transitions (next-event pairs) on {ds.num_items} "
            f"items, with {len(valid)} validation and {len(test)} test sequences to evaluate ({kind} split). "
            f"Training needs at least {MIN_TRANSITIONS} transitions, {MIN_ITEMS} items and one validation and one "
            "test sequence.")
    return ds, train, valid, test, info


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    t0 = time.time()
    holdout, held_users, ev_info = [], [], None
    if args.data:
        ds = load(args.data, args.attributes, args.max_users or None)
        held_users = held_out_users(len(ds.seqs), args.holdout_users, args.seed) if args.holdout_users > 0 else []
        gone = set(held_users)
        train_seqs, valid, test = split([s for u, s in enumerate(ds.seqs) if u not in gone])
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
    else:
        ds, train_seqs, valid, test, ev_info = load_events_data(args)
        print(f"{ds.name}: {ev_info['sequences']} sequences, {ev_info['events']} events; {ev_info['split']} split: "
              f"{len(train_seqs)} training sequences ({sum(map(len, train_seqs))} events) on {ds.num_items} items, "
              f"{ds.num_attrs} attributes; {len(valid)} validation and {len(test)} test sequences evaluated; "
              f"observed {json.dumps(ev_info['observed'])}", flush=True)

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
            x, ev, gaps = encoder_inputs([s[:-1] for s in chunk], width)
            y = torch.from_numpy(left_pad([s[1:] for s in chunk], width))
            h, _ = enc.hidden(x, ev, gaps)
            Us.append(h[y > 0])
            Ts.append(y[y > 0])
            # the K newest input items at each position, newest first (0 where there are fewer)
            hist = [torch.nn.functional.pad(x, (k, 0))[:, :width] for k in range(args.markov_items)]
            Ls.append(x[y > 0] if args.markov_items == 1 else torch.stack([hk[y > 0] for hk in hist], 1))
    refine = None
    if args.markov_refine:
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

    test_ranks = rank_targets(enc, test, cat_weight=best_w, markov=mk, cooc=cooc, exclude_history=args.exclude_history)
    test_m = summarize(test_ranks)
    print(f"test (quick check, selection was on validation): {fmt(test_m)}", flush=True)
    metrics = {"validNDCG@10": info["best_valid_ndcg10"], "test": test_m}
    if ev_info is not None:
        metrics.update(events_metrics(enc, train_seqs, valid, test, ds.num_items, best_w, mk, cooc,
                                      args.exclude_history, test_ranks))
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
    if ev_info is None:
        data = {"sequences": os.path.basename(args.data), "attributes": os.path.basename(args.attributes),
                "users": len(ds.seqs), "events": sum(map(len, ds.seqs)),
                "trainedOn": "leave-one-out training part (each user's sequence without the last two items)",
                "heldOutItems": len(holdout), **data}
    else:
        hp.update(events_hyper_parameters(args, ev_info))
        data = events_data(args, ds, ev_info)
    command = "npm run train -- " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = export(args.out, ds, enc, scorer, tower, {
        "data": data,
        "training": {"command": command,
                     "hyperParameters": hp, "bestEpoch": info["best_epoch"], "epochsRun": info["epochs_run"],
                     "seconds": info["trainSeconds"], "threads": args.threads,
                     **({"encoderCommand": args.encoder_command} if args.encoder_from else {})},
        "metrics": metrics,
    }, parity_seqs=parity_sequences(test, train_seqs, ev_info is not None), markov=info["markov"],
       cooc=None if cooc is None else (cooc[0], cooc[2], cooc[3]), exclude_history=args.exclude_history,
       observed=ev_info["observed"] if ev_info is not None else None)
    torch.save({"args": vars(args), "encoder": enc.state_dict(), "content": tower.state_dict(),
                "training": {"bestEpoch": info["best_epoch"], "epochsRun": info["epochs_run"],
                             "seconds": info["seconds"], "validNDCG@10": info["best_valid_ndcg10"]},
                "scorerWeight": best_w, "markov": info["beta"].tolist() if args.markov else None,
                "markovRefine": refine.state_dict() if refine is not None else None,
                "cooccurrence": None if cooc is None else {"weight": cooc[1], "window": cooc[2], "decay": cooc[3],
                                                           "neighbors": args.cooccurrence_neighbors,
                                                           "sequential": cooc[0].sequential},
                "holdout": holdout, "holdoutUsers": held_users, "history": info["history"],
                # events format: the served model's rank of each test target (model_card.py's paired
                # comparison of two runs on the same split)
                **({"testRanks": test_ranks.tolist()} if ev_info is not None else {})},
               os.path.join(args.out, "checkpoint.pt"))
    if holdout or held_users:
        write_heldout(os.path.join(args.out, "heldout.json"), ds, holdout, held_users)
    if ev_info is not None:
        write_events_card(args.out)
        if args.metrics:
            key = args.metrics_key or f"{ds.name}-{ev_info['split']}" + ("-no-event-features"
                                                                         if args.no_event_features else "")
            record_metrics(args.metrics, key, meta, args.out, command)
    print(f"wrote {args.out} ({meta['version']}) in {time.time() - t0:.0f}s", flush=True)


def parity_sequences(test, train_seqs, prefer_successors):
    """The encoder fixture's rows (export.py): four test inputs, the first one's newest item alone,
    and a sixth. prefer_successors (events format, often sparse): inputs whose newest item has a
    successor in the training part come first, so the scorer fixture exercises the Markov term."""
    pairs = test
    if prefer_successors:
        has_out = {i for s in train_seqs for i in s[:-1]}
        pairs = [p for p in test if p[0][-1] in has_out] + [p for p in test if p[0][-1] not in has_out]

    def pick(k):
        return pairs[k % len(pairs)][0]

    return [pick(k) for k in range(4)] + [pick(0)[-1:]] + [pick(5)]


def events_metrics(enc, fit, valid, test, num_items, w, mk, cooc, ex, served_test):
    """The events format's numbers beside the test summary: validation, the encoder's inner product
    alone, and the baselines fitted on the same training part (the numbers evaluate.py gives a
    sequences-file model), with the served model's paired NDCG@10 lead over each on test."""
    out = {"valid": summarize(rank_targets(enc, valid, cat_weight=w, markov=mk, cooc=cooc, exclude_history=ex)),
           "encoderOnly": {"valid": summarize(rank_targets(enc, valid, exclude_history=ex)),
                           "test": summarize(rank_targets(enc, test, exclude_history=ex))}}
    print(f"valid: {fmt(out['valid'], (10, 20))}\nencoder inner product only, test: "
          f"{fmt(out['encoderOnly']['test'], (10, 20))}", flush=True)
    if num_items > BASELINE_MAX_ITEMS:
        print(f"baselines skipped: {num_items} items (their dense tables need {BASELINE_MAX_ITEMS} or fewer)")
        out["baselines"] = None
        return out
    out["baselines"], out["testLeadNDCG@10"] = {}, {}
    for name, fn in BASELINES.items():
        ranks = fn(fit, test, num_items, ex)
        out["baselines"][name] = {"valid": summarize(fn(fit, valid, num_items, ex)), "test": summarize(ranks)}
        out["testLeadNDCG@10"][name] = paired_lead(served_test, ranks)
        print(f"{name}: test {fmt(out['baselines'][name]['test'], (10, 20))}", flush=True)
    return out


def events_hyper_parameters(args, ev_info):
    hp = {"split": ev_info["split"], "event_features": not args.no_event_features}
    if ev_info["split"] == "time":
        hp["valid_fraction"], hp["test_fraction"] = args.valid_fraction, args.test_fraction
    return hp


def events_data(args, ds, ev_info):
    """model.json `data` of an events-format model: where the data came from and what the split did."""
    split_info = {"kind": ev_info["split"], **{k: ev_info[k] for k in ("train", "valid", "test")}}
    if ev_info["split"] == "time":
        split_info.update({"validFraction": args.valid_fraction, "testFraction": args.test_fraction,
                           "leftOutSingleEvents": ev_info["leftOutSingleEvents"]})
        held = args.valid_fraction + args.test_fraction
        trained_on = (f"the training sequences of the split by time: all but the newest {held:.0%} of the sequences "
                      "with 2 or more events (and the single-event sequences that ended before those)")
    else:
        trained_on = "leave-one-out training part (each sequence without its last two events)"
    return {"format": "events", "dataset": ds.name,
            "source": "database" if args.from_db else os.path.basename(args.events),
            "attributes": "database (item_categories)" if args.from_db else os.path.basename(args.attributes),
            "sequences": ev_info["sequences"], "events": ev_info["events"], "eventTypes": ev_info["eventTypes"],
            "eventsWithTime": ev_info["eventsWithTime"], "split": split_info, "trainedOn": trained_on,
            "heldOutItems": 0}


def record_metrics(path, key, meta, out, command):
    """An entry of a metrics JSON (models/metrics.json's format, as evaluate.py writes it) for an
    events-format model: model (valid, test, encoder only) and baselines on the same split."""
    m, d = meta["metrics"], meta["data"]
    split_info = d["split"]
    protocol = ("split by time: the newest sequences (by last event time) held out, their last item predicted "
                "from the events before it" if split_info["kind"] == "time" else "leave-one-out")
    entry = {"dataset": meta["dataset"], "sequences": d["sequences"], "items": meta["numItems"],
             "protocol": protocol + ", full ranking over all items, ties count half", "split": split_info,
             "observed": meta["observed"],
             "model": {"model": os.path.normpath(out), "version": meta["version"], "valid": m["valid"],
                       "test": m["test"], "encoderOnly": m["encoderOnly"],
                       "scorerCategoryWeight": meta["scorer"]["categoryWeight"], "scorerMarkov": meta["scorer"]["markov"],
                       "training": {k: v for k, v in meta["training"].items() if k != "hyperParameters"}},
             "command": command}
    if m.get("baselines"):
        entry["baselines"] = m["baselines"]
        entry["testLeadNDCG@10"] = m["testLeadNDCG@10"]
    allm = json.load(open(path)) if os.path.exists(path) else {}
    allm[key] = entry
    with open(path, "w") as f:
        json.dump(allm, f, indent=2)
    print(f"recorded {key} in {path}", flush=True)


if __name__ == "__main__":
    main()
