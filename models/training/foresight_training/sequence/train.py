"""Trains the Foresight sequence model and writes a model directory (see models/README.md), from
a sequences file + attributes file (Amazon, S3-Rec format; leave-one-out), from an events file
(event types and times; foresight_training/sequence/data.py), or straight from the gateway's database
(--from-db: exports the dataset with src/cli/export-dataset.ts first; docs/training.md).

  /usr/bin/python3 models/training/train.py --data data/amazon/Beauty.txt \
      --attributes data/amazon/Beauty_item2attributes.json --out models/beauty
  /usr/bin/python3 models/training/train.py --from-db --dataset myshop --out models/myshop
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from ..category.own_data import forecaster_for_events, read_tree
from ..paths import ROOT
from . import train_flags
from .baselines import BASELINES
from .content import train_content
from .data import load, load_events, read_events, refuse_small, repeat_share, split
from .encoder import Encoder
from .encoder_training import train_encoder
from .export import export
from .metrics import fmt, judged, paired_lead, summarize
from .model_card import write_events_card
from .ranking import rank_targets
from .scorer_training import Fitting, fit_scorer, fit_scorer_reusing, refit_scorer
from .terms import TERMS

# the least a dataset needs before training is attempted (events format)
MIN_TRANSITIONS = 100
MIN_ITEMS = 10
# the baselines' dense item x item tables stop fitting in memory beyond this many items
BASELINE_MAX_ITEMS = 30_000


def encoder_from(enc, path, train_seqs, args):
    """The encoder-training result stored in a checkpoint.pt (see --encoder-from)."""
    ck = torch.load(path)
    ns = train_flags.parser().parse_args(["--out", "", "--data", path])
    train_flags.apply_defaults(ns)
    defaults = vars(ns)
    ck["args"] = {**defaults, **ck["args"]}  # options added since the checkpoint was written
    for k in ("dim", "max_len", "blocks", "heads", "block", "holdout_items", "holdout_users", "seed",
              "max_users") + tuple(f for kind in TERMS for f in kind.encoder_flags):
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
    terms = [kind.with_encoder(train_seqs, enc.num_items, args, stored=ck) for kind in TERMS]
    return {"terms": [term for term in terms if term is not None],
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


def export_from_db(dataset, into):
    """Runs the TypeScript exporter (it reads the database through the gateway's own Db layer and
    closes it before it exits, which PGlite's one-process lock needs); returns the events and
    attributes files it wrote."""
    cmd = ["npx", "tsx", train_flags.EXPORTER, "--dataset", dataset, "--out", into]
    print(f"exporting {dataset} from the database: {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"--from-db: exporting dataset {dataset} failed (exit {done.returncode}; "
                         "the exporter's message is above)")
    return tuple(os.path.join(into, f) for f in ("events.jsonl", "attributes.json", "categories.json"))


def load_events_data(args):
    """The events format (--events / --from-db): Dataset, train, valid, test, the split's info and
    what the next-category forecaster reads (raw events, item → categories, category tree);
    refuses a dataset too small to train on, naming its counts."""
    tmp = tempfile.mkdtemp(prefix="foresight-export-") if args.from_db else None
    try:
        events, attributes, tree = export_from_db(args.dataset, tmp) if args.from_db else (
            args.events, args.attributes, args.categories)
        ds, train, valid, test, info = load_events(events, attributes, args.dataset, args.split, args.valid_fraction,
                                                   args.test_fraction, not args.no_event_features,
                                                   args.max_users or None, args.valid_from, args.test_from)
        with open(attributes) as f:
            source = (read_events(events, args.max_users or None), json.load(f), read_tree(tree))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    kind = info["split"]
    if kind == "cutoff":
        refuse_small(info, args.min_targets)
    transitions = sum(len(s) - 1 for s in train if len(s) >= 2)
    if transitions < MIN_TRANSITIONS or ds.num_items < MIN_ITEMS or not valid or not test:
        raise SystemExit(
            f"dataset {args.dataset} has too few events to train: {info['events']} events in {info['sequences']} "
            f"sequences; the training part has {transitions} transitions (next-event pairs) on {ds.num_items} "
            f"items, with {len(valid)} validation and {len(test)} test sequences to evaluate ({kind} split). "
            f"Training needs at least {MIN_TRANSITIONS} transitions, {MIN_ITEMS} items and one validation and one "
            "test sequence.")
    return ds, train, valid, test, info, source


def main(argv=None):
    args = train_flags.parse_args(argv, __doc__)
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
        ds, train_seqs, valid, test, ev_info, category_source = load_events_data(args)
        if ev_info["split"] == "cutoff":
            return main_cutoff(args, argv, t0, ds, train_seqs, valid, test, ev_info, category_source)
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

    # the scorer's terms, fitted after the encoder and chosen on validation only (scorer_training.py)
    fitting = Fitting(enc, train_seqs, valid, args)
    policy = None
    if ev_info is not None:  # the events format: seen items allowed or not, decided from the data
        scorer, policy = decide_repeat_policy(fitting, enc, valid, info["terms"], args, repeat_share(train_seqs))
    else:
        scorer = fit_scorer(fitting, info["terms"])
    if fitting.valid_ndcg is not None:
        info["best_valid_ndcg10"] = fitting.valid_ndcg
    if args.exclude_history or fitting.remeasure:
        info["best_valid_ndcg10"] = summarize(rank_targets(enc, valid, scorer,
                                                           exclude_history=args.exclude_history))["NDCG@10"]
    cold = set(holdout)
    warm_items = [i for i in range(1, ds.num_items + 1) if i not in cold]
    tower = train_content(enc, (fitting.positions.user_states, fitting.positions.targets), warm_items, args,
                          item_text=None if args.no_item_text else ds.item_text)

    test_ranks = rank_targets(enc, test, scorer, exclude_history=args.exclude_history)
    test_m = summarize(test_ranks)
    print(f"test (quick check, selection was on validation): {fmt(test_m)}", flush=True)
    metrics = {"validNDCG@10": info["best_valid_ndcg10"], "test": test_m}
    if ev_info is not None:
        metrics.update(events_metrics(enc, train_seqs, valid, test, ds.num_items, scorer, args.exclude_history,
                                      test_ranks))
    # with --encoder-from, the encoder's own training time plus this run's
    seconds = time.time() - t0 + (info["seconds"] if args.encoder_from else 0.0)
    info["trainSeconds"] = round(seconds, 1)
    # ("markov" and "markov_refine" keep their old place among these, so model.json's order stays;
    # the terms' own entries follow: Term.hyper_parameters)
    hp = {k: getattr(args, k) for k in ("dim", "max_len", "blocks", "heads", "block", "dropout", "lr", "batch", "epochs",
                                        "patience", "eval_every", "negatives", "markov", "label_smoothing",
                                        "markov_refine", "weight_decay", "cat_weight",
                                        "content_epochs", "holdout_items", "max_users", "max_steps", "seed")}
    for kind in TERMS:
        hp.update(kind.hyper_parameters(args))
    if args.exclude_history:
        hp["exclude_history"] = True
    if ds.item_text is not None:  # (absent where the data has no titles, so model.json is as before)
        hp["content_text"] = "none (--no-item-text)" if args.no_item_text else "titles"
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
        **({"repeatPolicy": policy} if policy else {}),
    }, parity_seqs=parity_sequences(test, train_seqs, ev_info is not None), exclude_history=args.exclude_history,
       observed=ev_info["observed"] if ev_info is not None else None)
    torch.save({"args": vars(args), "encoder": enc.state_dict(), "content": tower.state_dict(),
                "training": {"bestEpoch": info["best_epoch"], "epochsRun": info["epochs_run"],
                             "seconds": info["seconds"], "validNDCG@10": info["best_valid_ndcg10"]},
                **scorer.checkpoint(),
                "holdout": holdout, "holdoutUsers": held_users, "history": info["history"],
                # events format: the served model's rank of each test target (model_card.py's paired
                # comparison of two runs on the same split)
                **({"testRanks": test_ranks.tolist()} if ev_info is not None else {})},
               os.path.join(args.out, "checkpoint.pt"))
    if holdout or held_users:
        write_heldout(os.path.join(args.out, "heldout.json"), ds, holdout, held_users)
    if ev_info is not None:
        forecaster_for_events(args, category_source, {"kind": "loo"})
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


def events_metrics(enc, fit, valid, test, num_items, scorer, ex, served_test):
    """The events format's numbers beside the test summary: validation, the encoder's inner product
    alone, and the baselines fitted on the same training part (the numbers evaluate.py gives a
    sequences-file model), with the served model's paired NDCG@10 lead over each on test."""
    out = {"valid": summarize(rank_targets(enc, valid, scorer, exclude_history=ex)),
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
    hp = {"split": ev_info["split"], "event_features": not args.no_event_features, "recipe": args.recipe}
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
    protocol = {"time": "split by time: the newest sequences (by last event time) held out, their last item "
                        "predicted from the events before it",
                "cutoff": m.get("protocol", "cutoff")}.get(split_info["kind"], "leave-one-out")
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


# --- The cut-off protocol (events with times; data.py load_cutoff) --------------------------------

# below this repeat share among the training part's next events, a tie on validation goes to
# leaving seen items out (EXCLUDED); at or above it, to allowing them
REPEAT_SHARE_TIE = 0.05


def decide_repeat_policy(fitting, enc, valid, encoder_terms, args, share):
    """(scorer, policy): whether already-seen items may be recommended. With --exclude-history or
    --no-exclude-history given, that; otherwise both scorers are fitted (the co-occurrence term is
    chosen under each protocol, the other terms once) and the one with the better validation NDCG@10
    wins, each measured as it would be served (seen items ranked, or left out). A repeat target can
    never be hit with seen items left out, so the training part's repeat share says what exclusion
    can cost at most; a tie goes to EXCLUDED below REPEAT_SHARE_TIE, to ALLOWED otherwise."""
    base = {"repeatShare": round(share["share"], 6), "targets": share["targets"], "repeats": share["repeats"]}
    if not args.decide_repeats:
        scorer = fit_scorer(fitting, encoder_terms)
        seen = "EXCLUDED" if args.exclude_history else "ALLOWED"
        return scorer, {"seenItems": seen, **base, "decidedBy": "flag (--exclude-history / --no-exclude-history)"}
    args.exclude_history = False
    allowed = fit_scorer(fitting, encoder_terms)
    v_allowed = summarize(rank_targets(enc, valid, allowed))["NDCG@10"]
    args.exclude_history = True
    reuse = {k: t for k, t in allowed.terms.items() if k != "cooccurrence"}
    excluded = fit_scorer_reusing(fitting, encoder_terms, reuse)
    v_excluded = summarize(rank_targets(enc, valid, excluded, exclude_history=True))["NDCG@10"]
    if round(v_excluded, 6) == round(v_allowed, 6):
        exclude = share["share"] < REPEAT_SHARE_TIE
    else:
        exclude = v_excluded > v_allowed
    args.exclude_history = exclude
    print(f"repeat policy: {share['repeats']} of {share['targets']} training next events repeat an earlier item "
          f"({share['share']:.1%}); valid NDCG@10 {v_excluded:.4f} with seen items left out, {v_allowed:.4f} with "
          f"them ranked: {'EXCLUDED' if exclude else 'ALLOWED'}", flush=True)
    return (excluded if exclude else allowed), {
        "seenItems": "EXCLUDED" if exclude else "ALLOWED", **base,
        "validNDCG@10": {"EXCLUDED": v_excluded, "ALLOWED": v_allowed},
        "decidedBy": "validation NDCG@10 of the two policies (tie: EXCLUDED below a repeat share of "
                     f"{REPEAT_SHARE_TIE:g}, else ALLOWED)"}


def cutoff_metrics(enc, fit, valid, test, num_items, scorer, ex, repeat):
    """model.json metrics of the evaluated fit: valid/test summaries (the keys the rollout gate reads),
    the encoder alone, the baselines on the same targets, and beside them "judged": every method's
    summary with 95 % bootstrap intervals, on all, novel and repeat targets."""
    served = {"valid": rank_targets(enc, valid, scorer, exclude_history=ex),
              "test": rank_targets(enc, test, scorer, exclude_history=ex)}
    out = {"valid": summarize(served["valid"]), "test": summarize(served["test"]),
           "encoderOnly": {p: summarize(rank_targets(enc, pairs, exclude_history=ex))
                           for p, pairs in (("valid", valid), ("test", test))},
           "judged": {"model": {p: judged(served[p], repeat[p]) for p in ("valid", "test")}}}
    print(f"valid: {fmt(out['valid'], (10, 20))}\ntest:  {fmt(out['test'], (10, 20))}", flush=True)
    if num_items > BASELINE_MAX_ITEMS:
        print(f"baselines skipped: {num_items} items (their dense tables need {BASELINE_MAX_ITEMS} or fewer)")
        out["baselines"] = None
        return out, served["test"]
    out["baselines"], out["testLeadNDCG@10"] = {}, {}
    for name, fn in BASELINES.items():
        ranks = {"valid": fn(fit, valid, num_items, ex), "test": fn(fit, test, num_items, ex)}
        out["baselines"][name] = {p: summarize(ranks[p]) for p in ("valid", "test")}
        out["judged"][name] = {p: judged(ranks[p], repeat[p]) for p in ("valid", "test")}
        out["testLeadNDCG@10"][name] = paired_lead(served["test"], ranks["test"])
        print(f"{name}: test {fmt(out['baselines'][name]['test'], (10, 20))}", flush=True)
    return out, served["test"]


def print_judged(judged_all):
    for name, parts in judged_all.items():
        for part in ("novel", "repeat"):
            m = parts["test"][part]
            iv = m.get("intervals95", {}).get("NDCG@10", [0, 0])
            print(f"{name}, test {part} targets ({m['users']}): HR@10 {m['HR@10']:.4f} NDCG@10 {m['NDCG@10']:.4f} "
                  f"[{iv[0]:.4f}, {iv[1]:.4f}]", flush=True)


def main_cutoff(args, argv, t0, ds, train_seqs, valid, test, ev_info, category_source):
    """The cut-off protocol end to end: the evaluated fit (trained on the events before T_valid, its
    settings chosen on validation, judged on test), then the refit on every event with those settings
    and the best epoch count, which is what the model directory ships. model.json records both."""
    full_ds, full_seqs, full_observed = ev_info.pop("fullData")
    repeat = ev_info.pop("repeat")
    v, te = ev_info["valid"], ev_info["test"]
    print(f"{ds.name}: {ev_info['sequences']} sequences, {ev_info['events']} events; cut-offs valid "
          f"{ev_info['cutoffs']['valid']}, test {ev_info['cutoffs']['test']}; evaluated fit on "
          f"{ev_info['train']['events']} events ({ds.num_items} items); targets evaluated: valid {v['evaluated']} "
          f"({v['repeatTargets']} repeat), test {te['evaluated']} ({te['repeatTargets']} repeat)", flush=True)
    budget = args.time_budget
    fit_args = copy.copy(args)
    fit_args.encoder_budget = budget * 0.5 if budget else 0

    # 1. the evaluated fit
    enc = Encoder(ds.num_items, ds.num_attrs, ds.item_attrs, args.dim, args.max_len, args.blocks, args.heads,
                  args.dropout, args.block)
    info = train_encoder(enc, train_seqs, valid, fit_args)
    enc.eval()
    print(f"best epoch {info['best_epoch']} valid NDCG@10 {info['best_valid_ndcg10']:.4f}", flush=True)
    fitting = Fitting(enc, train_seqs, valid, fit_args)
    scorer, policy = decide_repeat_policy(fitting, enc, valid, info["terms"], fit_args, ev_info["trainRepeatShare"])
    ex = policy["seenItems"] == "EXCLUDED"
    metrics, test_ranks = cutoff_metrics(enc, train_seqs, valid, test, ds.num_items, scorer, ex, repeat)
    metrics["validNDCG@10"] = metrics["valid"]["NDCG@10"]
    print_judged(metrics["judged"])
    evaluated_seconds = time.time() - t0
    evaluated = {"trainedOn": f"every event before the validation cut-off {ev_info['cutoffs']['valid']}",
                 "events": ev_info["train"]["events"], "items": ds.num_items, "bestEpoch": info["best_epoch"],
                 "epochsRun": info["epochs_run"], "seconds": round(evaluated_seconds, 1),
                 "scorer": scorer_choices(scorer), "observed": ev_info["observed"]}

    # 2. the refit on every event, with the evaluated fit's choices
    refit_args = copy.copy(fit_args)
    refit_args.exclude_history = ex
    refit_args.stop_after = max(1, info["best_epoch"])
    left = budget - evaluated_seconds / 60 if budget else 0
    refit_args.encoder_budget = max(left * 0.8, 1.0) if budget else 0
    t1 = time.time()
    enc2 = Encoder(full_ds.num_items, full_ds.num_attrs, full_ds.item_attrs, args.dim, args.max_len, args.blocks,
                   args.heads, args.dropout, args.block)
    info2 = train_encoder(enc2, full_seqs, [], refit_args)
    enc2.eval()
    fitting2 = Fitting(enc2, full_seqs, [], refit_args)
    scorer2 = refit_scorer(fitting2, info2["terms"], scorer)
    tower = train_content(enc2, (fitting2.positions.user_states, fitting2.positions.targets),
                          list(range(1, full_ds.num_items + 1)), refit_args,
                          item_text=None if args.no_item_text else full_ds.item_text)
    refit = {"trainedOn": f"every event up to {ev_info['full']['lastEvent']} (the shipped files)",
             "events": ev_info["full"]["events"], "items": full_ds.num_items, "epochs": info2["epochs_run"],
             "seconds": round(time.time() - t1, 1), "scorer": scorer_choices(scorer2), "observed": full_observed}
    refit["bestEpochReached"] = info2["epochs_run"] >= refit_args.stop_after
    print(f"refit on {refit['events']} events, {refit['items']} items: {refit['epochs']} epochs in "
          f"{refit['seconds']:.0f}s", flush=True)
    if not refit["bestEpochReached"]:
        print(f"warning: the time budget stopped the refit after {info2['epochs_run']} of the {refit_args.stop_after} "
              "epochs validation chose: the shipped model is trained less than the evaluated one (give a larger "
              "--time-budget)", flush=True)

    hp = {k: getattr(args, k) for k in ("dim", "max_len", "blocks", "heads", "block", "dropout", "lr", "batch", "epochs",
                                        "patience", "eval_every", "negatives", "markov", "label_smoothing",
                                        "markov_refine", "weight_decay", "cat_weight", "content_epochs", "max_users",
                                        "max_steps", "seed", "time_budget", "min_targets")}
    for kind in TERMS:
        hp.update(kind.hyper_parameters(args))
    hp.update({"exclude_history": ex, "split": "cutoff", "event_features": not args.no_event_features,
               "valid_fraction": args.valid_fraction, "test_fraction": args.test_fraction, "recipe": args.recipe})
    split_info = {"kind": "cutoff", "cutoffs": ev_info["cutoffs"],
                  "cutoffsFrom": "flags" if args.valid_from is not None or args.test_from is not None else
                  f"event-time quantiles {1 - args.valid_fraction - args.test_fraction:g} and {1 - args.test_fraction:g}",
                  "train": ev_info["train"], "valid": ev_info["valid"], "test": ev_info["test"],
                  "minTargets": args.min_targets}
    data = {"format": "events", "dataset": ds.name, "source": "database" if args.from_db else os.path.basename(args.events),
            "attributes": "database (item_categories)" if args.from_db else os.path.basename(args.attributes),
            "sequences": ev_info["sequences"], "events": ev_info["events"], "eventTypes": ev_info["eventTypes"],
            "eventsWithTime": ev_info["eventsWithTime"], "split": split_info,
            "trainedOn": refit["trainedOn"] + "; metrics are the evaluated fit's (training.fits.evaluated)",
            "heldOutItems": 0}
    metrics["protocol"] = ("cutoff: global time cut-offs; every event after T_valid (T_test) with an earlier event "
                           "in its sequence is a validation (test) target, predicted from all of that sequence's "
                           "earlier events by the fit on the events before T_valid; full ranking over all items"
                           + (" except the input's own" if ex else "") + ", ties count half; intervals: 95 % "
                           "percentile bootstrap over targets (1,000 resamples)")
    metrics["targets"] = {p: {k: ev_info[p][k] for k in ("evaluated", "novelTargets", "repeatTargets")}
                          for p in ("valid", "test")}
    command = "npm run train -- " + " ".join(sys.argv[1:] if argv is None else argv)
    seconds = round(time.time() - t0, 1)
    meta = export(args.out, full_ds, enc2, scorer2, tower, {
        "data": data,
        "training": {"command": command, "hyperParameters": hp, "bestEpoch": info["best_epoch"],
                     "epochsRun": info["epochs_run"], "seconds": seconds, "threads": args.threads,
                     "timeBudgetMinutes": budget, "fits": {"evaluated": evaluated, "refit": refit}},
        "metrics": metrics,
        "repeatPolicy": policy,
    }, parity_seqs=parity_sequences([(s[:-1], s[-1]) for s in full_seqs if len(s) >= 2], full_seqs, True),
       exclude_history=ex, observed=full_observed)
    torch.save({"args": vars(args), "encoder": enc2.state_dict(), "content": tower.state_dict(),
                "training": {"bestEpoch": info["best_epoch"], "epochsRun": info2["epochs_run"],
                             "seconds": seconds, "validNDCG@10": metrics["validNDCG@10"]},
                **scorer2.checkpoint(), "holdout": [], "holdoutUsers": [], "history": info["history"],
                "testRanks": test_ranks.tolist(),
                # the evaluated fit, so its numbers can be recomputed and compared on the same targets
                "evaluated": {"args": vars(fit_args), "encoder": enc.state_dict(), **scorer.checkpoint(),
                              "items": ds.item_raw}},
               os.path.join(args.out, "checkpoint.pt"))
    forecaster_for_events(args, category_source, {"kind": "cutoff", **ev_info["cutoffs"]})
    write_events_card(args.out)
    if args.metrics:
        record_metrics(args.metrics, args.metrics_key or f"{ds.name}-cutoff", meta, args.out, command)
    print(f"wrote {args.out} ({meta['version']}) in {time.time() - t0:.0f}s", flush=True)


def scorer_choices(scorer):
    """What validation chose of a scorer's terms (model.json training.fits.*.scorer)."""
    out = {"categoryWeight": scorer.terms["category"].w if "category" in scorer.terms else 0.0}
    if "markov" in scorer.terms:
        m = scorer.terms["markov"]
        out["markov"] = [float(x) for x in m.beta.detach()]
        out["markovRefined"] = m.refine is not None
    if "cooccurrence" in scorer.terms:
        c = scorer.terms["cooccurrence"]
        out["cooccurrence"] = {"weight": c.w, "window": c.window, **({"sequential": c.table.sequential}
                                                                     if c.table.sequential else {})}
    return out
