"""train.py's command line: its flags, and the check of their values and combinations that runs
before any data is read or any file written (an invalid one fails in seconds, not after training).
The scoring terms' flags and their checks are the terms' own (terms/, Term.add_flags, check_args)."""
import argparse
import datetime
import os
import shutil

from .data import MIN_TARGETS
from .terms import TERMS

EXPORTER = "src/cli/export-dataset.ts"

# The best recipe we know (the shipped Beauty model's: models/beauty/model.json training.command):
# what --events / --from-db train when a flag is not given. History exclusion is decided from the
# data (train.py decide_repeat_policy) unless --exclude-history / --no-exclude-history is given;
# the scorer's weights, window and alpha, the category weight and the epochs are chosen on
# validation; --time-budget bounds the whole run. A flag given on the command line wins.
RECIPE = {"epochs": 20, "eval_every": 2, "patience": 4, "lr": 3e-3, "batch": 128, "dropout": 0.5, "negatives": 0,
          "markov": True, "markov_refine": True, "markov_items": 2, "cooccurrence": True,
          "cooccurrence_neighbors": 50, "cooccurrence_sequential": 3, "content_epochs": 3,
          "exclude_history": None, "time_budget": 60.0}
# the defaults of a sequences file (--data), as they have always been
LEGACY = {"epochs": 200, "eval_every": 2, "patience": 10, "lr": 1e-3, "batch": 256, "dropout": 0.5, "negatives": 0,
          "markov": False, "markov_refine": False, "markov_items": 1, "cooccurrence": False,
          "cooccurrence_neighbors": 50, "cooccurrence_sequential": 0, "content_epochs": 5,
          "exclude_history": False, "time_budget": 0.0}
# a recipe entry applies only where the flags it needs are on
NEEDS = {"markov_refine": ("markov",), "markov_items": ("markov_refine",), "cooccurrence": ("markov_refine",),
         "cooccurrence_sequential": ("cooccurrence",)}

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
    p.add_argument("--categories", metavar="FILE",
                   help="with --events: the category tree, JSON {category id: parent id or null} (--from-db reads "
                        "the database's); the next-category forecaster is then also judged at every level")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--split", choices=["auto", "cutoff", "loo", "time"], default="auto",
                   help="cutoff: global cut-offs in time, every event after T_valid (T_test) with an earlier event "
                        "in its sequence a validation (test) target, its input all the sequence's events before it; "
                        "the shipped model is then refit on every event (docs/training.md); loo: leave-one-out per "
                        "sequence; time: the newest whole sequences (by last event time) held out, their last item "
                        "predicted (the earlier protocol); auto: loo for --data and for events without times, "
                        "cutoff for events with times")
    p.add_argument("--valid-fraction", type=float, default=0.1,
                   help="--split cutoff: T_valid is the (1 - valid - test) quantile of the event times; --split "
                        "time: share of the sequences (of 2 or more events) held out for validation")
    p.add_argument("--test-fraction", type=float, default=0.1,
                   help="--split cutoff: T_test is the (1 - test) quantile of the event times; --split time: share "
                        "of the newest sequences (of 2 or more events) held out for test")
    p.add_argument("--valid-from", type=_instant, metavar="ISO",
                   help="--split cutoff: T_valid as an ISO date or time (UTC unless it says), instead of the quantile")
    p.add_argument("--test-from", type=_instant, metavar="ISO",
                   help="--split cutoff: T_test as an ISO date or time, instead of the quantile")
    p.add_argument("--min-targets", type=int, default=MIN_TARGETS,
                   help=f"--split cutoff: refuse to train when validation or test holds fewer evaluated targets "
                        f"(default {MIN_TARGETS}: below it the 95%% intervals are too wide to choose or judge a model)")
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
    p.add_argument("--dropout", type=float, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--patience", type=int, default=None, help="evaluations without validation gain")
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--negatives", type=int, default=None,
                   help="sampled softmax over this many shared uniform negatives (0 = full softmax)")
    for kind in TERMS:  # each scoring term's own flags (terms/)
        kind.add_flags(p)
    p.add_argument("--exclude-history", action=argparse.BooleanOptionalAction, default=None,
                   help="choose the co-occurrence term and report metrics with each user's own input items left out "
                        "of the ranking (the S3-Rec family's protocol; served with filter.excludeSeen). "
                        "--events / --from-db without either flag: decided from the data (the repeat share of the "
                        "training part's next events and validation; model.json repeatPolicy)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (0 = Adam)")
    p.add_argument("--cat-weight", type=float, default=0.1, help="weight of the next-attribute loss")
    p.add_argument("--content-epochs", type=int, default=None)
    p.add_argument("--no-item-text", action="store_true",
                   help="train the content tower without the items' titles (an ablation; by default a sequences "
                        "file's <Name>_item_text.tsv beside it is read where it exists)")
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
    p.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                   help="--events / --from-db (default 60): the whole run's budget; the evaluated fit's encoder "
                        "training stops at half of it, the refit gets what is left. --data (default 0 = none): "
                        "stop encoder training after N minutes")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    return p


def _instant(text):
    """An ISO date or date-time as epoch milliseconds (UTC when it gives no offset)."""
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r} (e.g. 2016-05-20 or "
                                         "2016-05-20T12:00:00Z)")
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * 1000))


def apply_defaults(args):
    """Fills the flags left unset: RECIPE for --events / --from-db, LEGACY for --data; a recipe entry
    whose prerequisite flag is off stays off (LEGACY's value)."""
    base = LEGACY if args.data else RECIPE
    args.recipe = "legacy" if args.data else "best"
    for k, v in base.items():
        if getattr(args, k) is not None:
            continue
        if any(not getattr(args, need) for need in NEEDS.get(k, ())):
            v = LEGACY[k]
        setattr(args, k, v)
    args.decide_repeats = args.exclude_history is None
    if args.exclude_history is None:
        args.exclude_history = False


def parse_args(argv=None, description=None):
    """The checked arguments; an invalid value or combination exits with usage and code 2."""
    p = parser(description)
    args = p.parse_args(argv)
    apply_defaults(args)
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
    if args.from_db and (args.attributes or args.categories):
        p.error("--from-db reads the items' categories and their tree from the database: drop "
                + ("--attributes" if args.attributes else "--categories"))
    if args.data and args.categories:
        p.error("--categories is for --events (a sequences file's attributes have no tree)")
    if not args.from_db and not args.attributes:
        p.error(f"{sources[0]} needs --attributes")
    if events and not args.dataset:
        p.error(f"{sources[0]} needs --dataset (the gateway's dataset name)")
    if args.data and args.dataset:
        p.error("--dataset is for --events / --from-db; a sequences file's name gives its dataset")
    if args.data and args.split in ("time", "cutoff"):
        p.error(f"--split {args.split} needs event times, which a sequences file has not: use --events or --from-db")
    if args.data and (args.no_event_features or args.metrics or args.metrics_key):
        flag = "--no-event-features" if args.no_event_features else "--metrics"
        p.error(f"{flag} is for --events / --from-db (for a sequences file, evaluate.py writes the metrics)")
    if (args.valid_from is not None or args.test_from is not None) and (args.data or args.split not in ("auto",
                                                                                                       "cutoff")):
        p.error("--valid-from / --test-from are for the cut-off protocol (--events / --from-db, --split cutoff)")
    if args.min_targets < 1:
        p.error(f"--min-targets must be at least 1, not {args.min_targets}")
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
                       ("--categories", args.categories), ("--encoder-from", args.encoder_from)):
        if path and not os.path.isfile(path):
            p.error(f"{flag}: no such file: {path}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        p.error(f"--out {args.out} is a file, not a model directory")
    if args.metrics and not os.path.isdir(os.path.dirname(os.path.abspath(args.metrics))):
        p.error(f"--metrics {args.metrics}: no such directory to write it in")
