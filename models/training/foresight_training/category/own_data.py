"""The next-category forecaster of a model trained on a shop's own data (train.py --events /
--from-db): measured against the rules on the item model's own split and shipped in the model
directory (category.json, category-parity.json, catnet.onnx where the mix with it wins), so that
a shop's model never serves a category forecast that lost to a rule on validation. run.py
`build` does the work; this module turns the events format into its tasks."""
import argparse
import datetime
import json
import os
import shutil
import tempfile
import time

from .data import load_events_tasks
from .run import build

# catnet's training on the shop's sequences: a few epochs on at most this many sequences
EPOCHS = 6
MAX_SEQUENCES = 20000
FIT_TARGETS = 4000
# below this many validation targets (or without a test target) no forecaster is chosen: the
# rules cannot be told apart, nor the mixes fitted (forecasts keep the item model's head)
MIN_TARGETS = 50
# the pooled features hold a dense categories × categories transition table (run.py, pool.py):
# above this many categories it would not fit in memory, and no forecaster is built
MAX_CATEGORIES = 5000


def read_tree(path):
    """category id → parent id (None for a root) from a categories.json; {} without one."""
    if not path:
        return {}
    with open(path) as f:
        try:
            tree = json.load(f)
        except ValueError as err:
            raise SystemExit(f"{path}: not JSON ({err})")
    if not isinstance(tree, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                             for k, v in tree.items()):
        raise SystemExit(f'{path}: expected {{"<category id>": "<parent id>" or null, ...}}')
    return tree


def ms(iso):
    return int(round(datetime.datetime.fromisoformat(iso).timestamp() * 1000))


def forecaster_for_events(args, source, split, log=print):
    """Builds and ships the forecaster into args.out (which holds model.json); returns the
    metrics, or None (recorded in model.json metrics.category.skipped) when the data cannot
    judge one. `source` = (raw events, item → category ids, category tree); `split` the item
    model's: {"kind": "loo"} or {"kind": "cutoff", "valid": iso, "test": iso}."""
    raw, attrs, tree = source
    if split["kind"] == "cutoff":
        split = {"kind": "cutoff", "valid": ms(split["valid"]), "test": ms(split["test"])}
    t0 = time.time()
    tasks = load_events_tasks(args.dataset, raw, attrs, tree, split)
    reason = None
    if tasks.num_categories < 2:
        reason = f"the items of dataset {args.dataset} have {tasks.num_categories} categories: nothing to forecast"
    elif tasks.num_categories > MAX_CATEGORIES:
        reason = (f"the items of dataset {args.dataset} have {tasks.num_categories} categories, more than the "
                  f"{MAX_CATEGORIES} the forecaster's dense tables hold")
    elif len(tasks.valid) < MIN_TARGETS or not tasks.test:
        reason = (f"{len(tasks.valid)} validation and {len(tasks.test)} test next-category targets (events on items "
                  "with a category after an earlier one): too few to choose or judge a forecaster")
    if reason:
        log(f"next-category forecaster skipped: {reason}; forecasts use the item model's category head", flush=True)
        _record(args.out, {"skipped": reason})
        return None
    log(f"next-category forecaster: {tasks.num_categories} categories, {len(tasks.train)} training sequences, "
        f"{len(tasks.valid)} validation and {len(tasks.test)} test targets", flush=True)
    work = tempfile.mkdtemp(prefix="foresight-category-")
    try:
        cat_args = argparse.Namespace(out=work, model_dir=args.out, fit_targets=FIT_TARGETS, epochs=EPOCHS, dim=48,
                                      catnet_sequences=MAX_SEQUENCES, seed=args.seed)
        metrics = build(tasks, cat_args, "part of `npm run train` (foresight_training/category/own_data.py)", t0,
                        log=lambda *a, **k: log(*a, flush=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return metrics


def _record(model_dir, category):
    path = os.path.join(model_dir, "model.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest.setdefault("metrics", {})["category"] = category
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
