"""Next-category tasks at the level a shop acts on: each item's most specific category (for the
Amazon data the item's rarest attribute, the attributes mixing brands and categories; for
DIGINETICA the item's one category), split as the item model is evaluated:

- Amazon (no times): leave-one-out; the statistics and the GRU learn from each sequence without
  its last two items, validation predicts the second-last item's category from the items before
  it, test the last item's from all the others.
- DIGINETICA (times): global time cut-offs T_valid < T_test (the 80 % and 90 % quantiles of the
  event times); every event after T_valid (up to T_test: validation; after it: test) that has an
  earlier event in its sequence is a target, its input all the earlier events. Statistics and the
  GRU learn from the events up to T_valid.
"""
import csv
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

SHARED_DATA = os.environ.get("FORESIGHT_DATA", "/work/shared/data")
AMAZON = {"beauty": "Beauty", "sports": "Sports_and_Outdoors"}


@dataclass
class Target:
    """One next-category question: the input's category indices (oldest first), its item ids and
    times (seconds, or None), the target category index, and the sequence it came from (the
    bootstrap resamples sequences)."""
    cats: list
    items: list
    times: list
    target: int
    sequence: int
    # event types (VIEW, PURCHASE) where the data has them: what the item model's encoder reads
    types: list = None


@dataclass
class Tasks:
    dataset: str
    # category index (1..C) → the served category id (`beauty:a17`, `diginetica:c1096`); 0 = padding
    categories: list
    # item id (served form) → category index
    item_category: dict
    # training sequences: lists of (item id, category index, time or None)
    train: list
    valid: list = field(default_factory=list)
    test: list = field(default_factory=list)
    split: dict = field(default_factory=dict)

    @property
    def num_categories(self):
        return len(self.categories) - 1


def most_specific(item_attrs):
    """Each item's rarest attribute (fewest items; ties: the lower id): the most specific of the
    brand and category attributes an Amazon item carries."""
    count = Counter(a for attrs in item_attrs.values() for a in attrs)
    return {item: min(attrs, key=lambda a: (count[a], a)) for item, attrs in item_attrs.items() if attrs}


def _index(values):
    ordered = sorted(set(values))
    return {v: k + 1 for k, v in enumerate(ordered)}, ordered


def load_amazon(dataset, data_dir=SHARED_DATA, max_users=None):
    name = AMAZON[dataset]
    with open(os.path.join(data_dir, "amazon", f"{name}_item2attributes.json")) as f:
        attrs = {int(k): v for k, v in json.load(f).items()}
    specific = most_specific(attrs)
    index, ordered = _index(specific.values())
    categories = [None] + [f"{dataset}:a{a}" for a in ordered]
    item_category = {f"{dataset}:{i}": index[a] for i, a in specific.items()}
    tasks = Tasks(dataset, categories, item_category, train=[])
    with open(os.path.join(data_dir, "amazon", f"{name}.txt")) as f:
        for u, line in enumerate(f):
            if max_users and u >= max_users:
                break
            items = [f"{dataset}:{i}" for i in line.split()[1:]]
            seq = [(i, item_category[i], None) for i in items]
            if len(seq) < 3:
                continue
            tasks.train.append(seq[:-2])
            tasks.valid.append(_target(seq[:-2], seq[-2], u))
            tasks.test.append(_target(seq[:-1], seq[-1], u))
    tasks.split = {"kind": "leave-one-out", "sequences": len(tasks.train)}
    return tasks


def _target(inputs, nxt, sequence):
    return Target([c for _, c, _ in inputs], [i for i, _, _ in inputs], [t for _, _, t in inputs], nxt[1], sequence)


def _day_seconds(day):
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()


def diginetica_sequences(data_dir=SHARED_DATA):
    """The excerpt's sequences as the project's exporter builds them: a user's events (user ids
    shared by the two files) or an anonymous session's (views' sessions kept apart from
    purchases'); time = the day at midnight UTC + the offset within the session."""
    d = os.path.join(data_dir, "diginetica")
    with open(os.path.join(d, "product-categories.csv")) as f:
        item_cat = {r["itemId"]: r["categoryId"] for r in csv.DictReader(f, delimiter=";")}
    raw = {}
    order = 0
    with open(os.path.join(d, "sample-train-item-views.csv")) as f:
        for r in csv.DictReader(f, delimiter=";"):
            key = f"u{r['user_id']}" if r["user_id"] != "NA" else f"v{r['session_id']}"
            raw.setdefault(key, []).append((_day_seconds(r["eventdate"]) + int(r["timeframe"]) / 1000, order, r["item_id"], "VIEW"))
            order += 1
    with open(os.path.join(d, "train-purchases.csv")) as f:
        for r in csv.DictReader(f, delimiter=";"):
            key = f"u{r['userId']}" if r["userId"] != "NA" else f"p{r['sessionId']}"
            raw.setdefault(key, []).append((_day_seconds(r["eventdate"]) + int(r["timeframe"]) / 1000, order, r["itemId"], "PURCHASE"))
            order += 1
    seqs = [[(t, i, kind) for t, _, i, kind in sorted(evs)] for _, evs in sorted(raw.items())]
    return seqs, item_cat


def load_diginetica(data_dir=SHARED_DATA, valid_quantile=0.8, test_quantile=0.9):
    seqs, item_cat = diginetica_sequences(data_dir)
    seqs = [[e for e in s if e[1] in item_cat] for s in seqs]
    index, ordered = _index(item_cat[i] for s in seqs for _, i, _ in s)
    categories = [None] + [f"diginetica:c{c}" for c in ordered]
    item_category = {f"diginetica:{i}": index[item_cat[i]] for s in seqs for _, i, _ in s}
    times = sorted(t for s in seqs for t, _, _ in s)
    t_valid = times[int(valid_quantile * (len(times) - 1))]
    t_test = times[int(test_quantile * (len(times) - 1))]
    tasks = Tasks("diginetica", categories, item_category, train=[])
    for k, s in enumerate(seqs):
        seq = [(f"diginetica:{i}", item_category[f"diginetica:{i}"], t) for t, i, _ in s]
        kinds = [kind for _, _, kind in s]
        before = [e for e in seq if e[2] <= t_valid]
        if before:
            tasks.train.append(before)
        for j in range(1, len(seq)):
            t = seq[j][2]
            if t > t_valid:
                target = _target(seq[:j], seq[j], k)
                target.types = kinds[:j]
                (tasks.test if t > t_test else tasks.valid).append(target)
    iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat()  # noqa: E731
    tasks.split = {"kind": "time", "validFrom": iso(t_valid), "testFrom": iso(t_test),
                   "validQuantile": valid_quantile, "testQuantile": test_quantile,
                   "sequences": len(seqs), "trainEvents": sum(len(s) for s in tasks.train)}
    return tasks


def load(dataset, **kw):
    return load_diginetica(**kw) if dataset == "diginetica" else load_amazon(dataset, **kw)
