"""Next-category tasks at the level a shop acts on: each item's most specific category, split as
the item model is evaluated. Beauty: the deepest category of the item's path (brands told from
categories as the importer does, src/import/amazon-names.ts; brands are not categories); Sports
(whose lists do not follow that layout): the item's rarest attribute; DIGINETICA: the item's one
category. Where a tree exists (Beauty) `Tasks.parents` gives each category's parent, so that a
forecast can also be judged at every level above the leaves (`level_map`).

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
# the Amazon sets whose attribute lists are a brand and one category path (amazon-names.ts)
TREE_DATASETS = ("beauty",)


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
    # category index → its parent's index (0: a root); empty where the data has no tree
    parents: dict = field(default_factory=dict)
    level: str = ""
    # every sequence up to the newest event, where the served statistics are refit on them
    refit: list = None

    @property
    def num_categories(self):
        return len(self.categories) - 1


def most_specific(item_attrs):
    """Each item's rarest attribute (fewest items; ties: the lower id): the most specific of the
    brand and category attributes an Amazon item carries."""
    count = Counter(a for attrs in item_attrs.values() for a in attrs)
    return {item: min(attrs, key=lambda a: (count[a], a)) for item, attrs in item_attrs.items() if attrs}


def attribute_roles(lists):
    """Brands and each category's parent from item → attribute lists (each an optional brand,
    then one category path, root first): the rules of src/import/amazon-names.ts
    `attributeRoles`, which the gateway's importer applies; tests pin the two to the same Beauty
    figures. Returns (brand attribute ids, {category attribute id: parent id or None})."""
    root = 0
    before, after = {}, {}
    for lst in lists:
        for i, a in enumerate(lst):
            prev = root if i == 0 else lst[i - 1]
            if prev != a:
                m = before.setdefault(a, {})
                m[prev] = m.get(prev, 0) + 1
            if i + 1 < len(lst):
                after.setdefault(a, set()).add(lst[i + 1])

    def opens(a):
        return root in before.get(a, {})

    brands = {a for a, m in before.items() if len(m) == 1 and opens(a) and a in after and all(map(opens, after[a]))}
    links = []
    for a, m in before.items():
        if a in brands:
            continue
        votes = {}
        for prev, n in m.items():
            p = root if prev in brands else prev
            votes[p] = votes.get(p, 0) + n
        links += [(a, p, n) for p, n in votes.items()]
    links.sort(key=lambda x: (-x[2], x[0], x[1]))
    parents = {}

    def ancestor_of(start, candidate):
        p = start
        while p is not None:
            if p == candidate:
                return True
            p = parents.get(p)
        return False

    for a, p, _ in links:
        if a in parents:
            continue
        if p == root:
            parents[a] = None
        elif not ancestor_of(p, a):
            parents[a] = p
    for a in before:
        if a not in brands and a not in parents:
            parents[a] = None
    return brands, parents


def deepest_category(item_attrs, brands):
    """Each item's most specific category: the last attribute of its list that is no brand."""
    out = {}
    for item, attrs in item_attrs.items():
        cats = [a for a in attrs if a not in brands]
        if cats:
            out[item] = cats[-1]
    return out


def level_map(tasks, depth):
    """Category index → the index of its ancestor `depth` levels from the root (1 = the roots; a
    category shallower than `depth` maps to itself), as an np.array over 0..C; None without a tree."""
    if not tasks.parents:
        return None
    import numpy as np
    out = np.zeros(tasks.num_categories + 1, np.int64)
    for c in range(1, tasks.num_categories + 1):
        path = [c]
        while tasks.parents.get(path[-1], 0):
            path.append(tasks.parents[path[-1]])
        path.reverse()
        out[c] = path[min(depth, len(path)) - 1]
    return out


def tree_depth(tasks):
    """The deepest level of the tree (0 without one)."""
    if not tasks.parents:
        return 0
    def depth(c):
        d = 0
        while c:
            d += 1
            c = tasks.parents.get(c, 0)
        return d
    return max(depth(c) for c in range(1, tasks.num_categories + 1))


def _index(values):
    ordered = sorted(set(values))
    return {v: k + 1 for k, v in enumerate(ordered)}, ordered


def load_amazon(dataset, data_dir=SHARED_DATA, max_users=None):
    name = AMAZON[dataset]
    with open(os.path.join(data_dir, "amazon", f"{name}_item2attributes.json")) as f:
        attrs = {int(k): v for k, v in json.load(f).items()}
    tree = dataset in TREE_DATASETS
    if tree:
        brands, parents = attribute_roles([attrs[k] for k in sorted(attrs)])
        specific = deepest_category(attrs, brands)
        # every ancestor gets an index too, so that each level of the tree can be judged
        index, ordered = _index(list(specific.values()) + list(parents))
    else:
        specific = most_specific(attrs)
        index, ordered = _index(specific.values())
    categories = [None] + [f"{dataset}:a{a}" for a in ordered]
    item_category = {f"{dataset}:{i}": index[a] for i, a in specific.items()}
    tasks = Tasks(dataset, categories, item_category, train=[],
                  level="the target item's most specific category (the deepest of its path; brands are no categories)"
                  if tree else "the target item's most specific attribute (its rarest)")
    if tree:
        tasks.parents = {index[a]: index[p] if p is not None else 0 for a, p in parents.items()}
    with open(os.path.join(data_dir, "amazon", f"{name}.txt")) as f:
        lines = [line.split()[1:] for u, line in enumerate(f) if not max_users or u < max_users]
    return _leave_one_out(tasks, ([f"{dataset}:{i}" for i in items] for items in lines))


def _leave_one_out(tasks, sequences):
    """Each sequence of item ids (its events on items without a category left out) with at least
    three events: its last two held out, the second-last for validation, the last for test."""
    for k, items in enumerate(sequences):
        seq = [(i, tasks.item_category[i], None) for i in items if i in tasks.item_category]
        if len(seq) < 3:
            continue
        tasks.train.append(seq[:-2])
        tasks.valid.append(_target(seq[:-2], seq[-2], k))
        tasks.test.append(_target(seq[:-1], seq[-1], k))
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
    tasks = Tasks("diginetica", categories, item_category, train=[], level="the target item's category (DIGINETICA items have one)")
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


def _deepest(cats, parents):
    """The deepest of an item's categories in the tree (ties: the one listed first)."""
    def depth(c):
        d, seen = 0, set()
        while c is not None and c not in seen:
            seen.add(c)
            d += 1
            c = parents.get(c)
        return d
    return max(cats, key=lambda c: (depth(c), -cats.index(c)))


def load_events_tasks(dataset, raw, attrs, parents, split):
    """Next-category tasks from a shop's own data (train.py --events / --from-db), on the item
    model's split: `raw` as sequence/data.py read_events gives it, `attrs` item id → its category
    ids, `parents` category id → parent id or None (the database's tree; {} without one), `split`
    {"kind": "cutoff", "valid": T_valid ms, "test": T_test ms} or {"kind": "loo"}. An item's category
    is the deepest of its categories in the tree (ties: the first listed). Events on items without a
    category are not read; targets on them are not asked. Cut-offs: the statistics learn from each
    sequence's events before T_valid, every later event with an earlier one is a target (validation
    before T_test, test after), and `refit` holds the whole sequences for the served statistics.
    Leave-one-out: as load_amazon."""
    from ..sequence.data import cutoff_split
    item_cat = {i: _deepest(list(cs), parents) for i, cs in attrs.items() if cs}
    used = set(item_cat.values())
    for c in list(used):
        seen = set()
        while parents.get(c) is not None and c not in seen:
            seen.add(c)
            c = parents[c]
            used.add(c)
    ordered = sorted(used)
    index = {c: k + 1 for k, c in enumerate(ordered)}
    tasks = Tasks(dataset, [None] + ordered, {i: index[c] for i, c in item_cat.items()}, train=[],
                  level="the target item's most specific category (the deepest of its categories in the tree)")
    tasks.parents = {index[c]: index.get(parents.get(c), 0) for c in ordered} if any(
        parents.get(c) is not None for c in ordered) else {}

    def mapped(events, times):
        return [(i, tasks.item_category[i], None if t is None else t / 1000, ty)
                for (i, ty, _), t in zip(events, times) if i in tasks.item_category]

    if split["kind"] == "cutoff":
        ordered_seqs, prefixes, targets = cutoff_split(raw, split["valid"], split["test"])
        full = [mapped(ev, tm) for ev, tm in ordered_seqs]
        tasks.train = [[e[:3] for e in s] for s in (mapped(p, ordered_seqs[k][1][:len(p)]) for k, p in enumerate(prefixes)) if s]
        tasks.refit = [[e[:3] for e in s] for s in full if s]
        for t in targets:
            ev, tm = ordered_seqs[t.sequence]
            if ev[t.position][0] not in tasks.item_category:
                continue
            inputs = mapped(ev[:t.position], tm[:t.position])
            if not inputs:
                continue
            nxt = mapped(ev[t.position:t.position + 1], tm[t.position:t.position + 1])[0]
            target = _target([e[:3] for e in inputs], nxt, t.sequence)
            target.types = [e[3] for e in inputs]
            (tasks.valid if t.part == "valid" else tasks.test).append(target)
        tasks.split = {"kind": "time", "validFrom": datetime.fromtimestamp(split["valid"] / 1000, timezone.utc).isoformat(),
                       "testFrom": datetime.fromtimestamp(split["test"] / 1000, timezone.utc).isoformat(),
                       "sequences": len(raw), "trainEvents": sum(len(s) for s in tasks.train)}
    else:
        _leave_one_out(tasks, ([i for i, _, _ in events] for _, events in raw))
    return tasks


def load(dataset, **kw):
    return load_diginetica(**kw) if dataset == "diginetica" else load_amazon(dataset, **kw)
