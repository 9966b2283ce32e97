"""train.py's command line: its flags, and the check of their values and combinations that runs
before any data is read or any file written (an invalid one fails in seconds, not after training).
The scoring terms' flags and their checks are the terms' own (terms/, Term.add_flags, check_args)."""
import argparse
import os
import shutil

from .terms import TERMS

EXPORTER = "src/cli/export-dataset.ts"

# flags whose value must be at least 1, at least 0, or a fraction in [0, 1)
POSITIVE = ("dim", "max_len", "blocks", "heads", "batch", "epochs", "patience", "eval_every", "threads")
NON_NEGATIVE = ("negatives", "weight_decay", "cat_weight", "content_epochs", "max_users", "max_steps", "time_budget")
FRACTIONS = ("dropout", "label_smoothing", "holdout_items", "holdout_users")


def parser(description=None):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="sequences file (user item item ...)")
    p.add_argument("--events", metavar="FILE",
                   help="events file (JSON lines, one sequence per line; foresight_training/sequence/data.py), "
                        "with --dataset")
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
    for kind in TERMS:  # each scoring term's own flags (terms/)
        kind.add_flags(p)
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
    return p


def parse_args(argv=None, description=None):
    """The checked arguments; an invalid value or combination exits with usage and code 2."""
    p = parser(description)
    args = p.parse_args(argv)
    check_args(p, args)
    return args


def check_args(p, args):
    """Every flag value and combination is checked here, before any work starts."""
    sources = [f for f, given in (("--data", args.data), ("--events", args.events), ("--from-db", args.from_db))
               if given]
    if len(sources) != 1:
        p.error("give exactly one of --data (sequences file), --events (events file) or --from-db"
                + (f", not {' and '.join(sources)}" if sources else ""))
    events = not args.data
    if args.from_db and args.attributes:
        p.error("--from-db reads the items' categories from the database: drop --attributes")
    if not args.from_db and not args.attributes:
        p.error(f"{sources[0]} needs --attributes")
    if events and not args.dataset:
        p.error(f"{sources[0]} needs --dataset (the gateway's dataset name)")
    if args.data and args.dataset:
        p.error("--dataset is for --events / --from-db; a sequences file's name gives its dataset")
    if args.data and args.split == "time":
        p.error("--split time needs event times, which a sequences file has not: use --events or --from-db")
    if args.data and (args.no_event_features or args.metrics or args.metrics_key):
        flag = "--no-event-features" if args.no_event_features else "--metrics"
        p.error(f"{flag} is for --events / --from-db (for a sequences file, evaluate.py writes the metrics)")
    if args.metrics_key and not args.metrics:
        p.error("--metrics-key needs --metrics")
    if events:
        for flag, given in (("--holdout-items", args.holdout_items), ("--holdout-users", args.holdout_users),
                            ("--encoder-from", args.encoder_from)):
            if given:
                p.error(f"{flag} is not supported with {sources[0]} (sequences files only)")

    for name in POSITIVE:
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name):g}")
    for name in NON_NEGATIVE:
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be at least 0, not {getattr(args, name):g}")
    for name in FRACTIONS:
        if not 0 <= getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 0 and below 1, not {getattr(args, name):g}")
    if not args.lr > 0:
        p.error(f"--lr must be above 0, not {args.lr:g}")
    if args.dim % args.heads:
        p.error(f"--dim {args.dim} must be a multiple of --heads {args.heads} (each head takes dim / heads)")
    for flag, v in (("--valid-fraction", args.valid_fraction), ("--test-fraction", args.test_fraction)):
        if not 0 < v < 1:
            p.error(f"{flag} must be above 0 and below 1, not {v:g}")
    if args.valid_fraction + args.test_fraction >= 1:
        p.error("--valid-fraction and --test-fraction must leave sequences to train on")

    # the scoring terms' flags: each term needs the one before it (models/README.md scorer.onnx)
    for kind in TERMS:
        kind.check_args(p, args)

    if args.from_db and shutil.which("npx") is None:
        p.error(f"--from-db runs {EXPORTER} with npx, which is not on PATH")
    for flag, path in (("--data", args.data), ("--events", args.events), ("--attributes", args.attributes),
                       ("--encoder-from", args.encoder_from)):
        if path and not os.path.isfile(path):
            p.error(f"{flag}: no such file: {path}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        p.error(f"--out {args.out} is a file, not a model directory")
    if args.metrics and not os.path.isdir(os.path.dirname(os.path.abspath(args.metrics))):
        p.error(f"--metrics {args.metrics}: no such directory to write it in")
