"""Loading of sequence datasets in the S3-Rec/CL4SRec text format and the leave-one-out split,
and of the events format (sequences with event types and times, exported from the gateway's
database by src/training/export-dataset.ts) with its split by time.

Sequences file: one line per user, `user_id item_id item_id ...`, oldest first.
Attributes file: JSON object raw item id -> list of raw attribute ids.
Model indices are 1-based in ascending raw-id order; 0 is padding everywhere.
"""
import datetime
import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..contract import ENCODER_EVENT_TYPES, EVENT_TYPES
from ..text import amazon_titles, token_table
from .encoder import TIME_GAP_BUCKETS_SECONDS

TEXT_HASH_BUCKETS = 4096  # content.onnx's text buckets (model.json textHashBuckets)


@dataclass
class Dataset:
    name: str                 # lower-cased base name of the sequences file
    users: list               # raw user ids (strings), in file order
    seqs: list                # per user: list of model item indices, oldest first
    item_raw: list            # item_raw[k] = raw id of model index k + 1
    attr_raw: list            # attr_raw[k] = raw id of attribute index k + 1
    item_attrs: np.ndarray    # int64 [num_items + 1, max_attrs], 0-padded attribute indices
    # ids are the gateway's own (events format): vocab.json holds them as they are, instead of
    # `<name>:<raw>` and `<name>:a<raw>` (sequences format)
    verbatim: bool = False
    # int64 [num_items + 1, T]: each item's title tokens (foresight_training/text.py), where the
    # source has titles (Beauty's <Name>_item_text.tsv); None without
    item_text: np.ndarray = None

    @property
    def num_items(self):
        return len(self.item_raw)

    @property
    def num_attrs(self):
        return len(self.attr_raw)


def dataset_name(path):
    return os.path.splitext(os.path.basename(path))[0].lower()


def _sort_key(raw):
    return (0, int(raw), raw) if raw.isdigit() else (1, 0, raw)


def load(seq_path, attr_path, max_users=None):
    users, raw_seqs = [], []
    with open(seq_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            users.append(parts[0])
            raw_seqs.append(parts[1:])
            if max_users and len(users) >= max_users:
                break
    with open(attr_path) as f:
        raw_attrs = json.load(f)

    item_raw = sorted({i for s in raw_seqs for i in s}, key=_sort_key)
    item_index, attr_raw, item_attrs = _vocabulary(item_raw, raw_attrs)
    seqs = [[item_index[i] for i in s] for s in raw_seqs]
    titles = amazon_titles(seq_path)
    item_text = token_table([titles.get(r) for r in item_raw], TEXT_HASH_BUCKETS) if titles else None
    return Dataset(dataset_name(seq_path), users, seqs, item_raw, attr_raw, item_attrs, item_text=item_text)


def _vocabulary(item_raw, raw_attrs):
    """Model indices of the items (item_raw's order, from 1), the attribute vocabulary (ascending)
    and the 0-padded item -> attribute index table [num_items + 1, max attributes per item]."""
    item_index = {r: k + 1 for k, r in enumerate(item_raw)}
    attr_raw = sorted({str(a) for i in item_raw for a in raw_attrs.get(i, [])}, key=_sort_key)
    attr_index = {r: k + 1 for k, r in enumerate(attr_raw)}
    width = max([len(raw_attrs.get(i, [])) for i in item_raw] + [1])
    item_attrs = np.zeros((len(item_raw) + 1, width), dtype=np.int64)
    for r, k in item_index.items():
        idx = [attr_index[str(a)] for a in raw_attrs.get(r, [])]
        item_attrs[k, : len(idx)] = idx
    return item_index, attr_raw, item_attrs


def split(seqs):
    """Leave-one-out: returns (train, valid, test) where train[u] is the training sequence and
    valid/test are (input sequence, target) pairs; users with < 3 events are skipped for eval."""
    train, valid, test = [], [], []
    for s in seqs:
        if len(s) < 3:
            train.append(s[:])  # a copy (of the same type: Events keep their types and times)
            continue
        train.append(s[:-2])
        valid.append((s[:-2], s[-2]))
        test.append((s[:-1], s[-1]))
    return train, valid, test


def left_pad(seqs, max_len):
    """Newest item at column max_len - 1, left-padded with 0."""
    out = np.zeros((len(seqs), max_len), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = s[-max_len:]
        if s:
            out[r, max_len - len(s):] = s
    return out


# --- The events format (train from the database) -------------------------------------------------
#
# JSON lines, one sequence per line, oldest event first:
#   {"id": "user:myshop:u1", "events": [{"item": "myshop:sku-1", "type": "VIEW", "at": 1714000000.5}, ...]}
# `item` is the gateway's own item id (null for an event without an item, which the encoder never
# reads and which is skipped), `type` one of the gateway's event types
# (contract.EVENT_TYPES), `at` epoch seconds or null.
# The attributes file maps item id -> list of the gateway's category ids. Ids are kept verbatim:
# vocab.json holds them as they are (no dataset prefix is added).


class Events(list):
    """A sequence of model item indices, oldest first, that also carries each event's type and
    time in integer milliseconds (None = unknown). It is a list, so every item-only code path
    (splits, baselines, transition and co-occurrence counts) reads it unchanged; slices keep the
    types and times. `types` hold event-type names until apply_observed() maps them to the
    indices the encoder reads."""

    def __init__(self, items=(), types=(), times=()):
        super().__init__(items)
        self.types = list(types)
        self.times = list(times)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return Events(list.__getitem__(self, k), self.types[k], self.times[k])
        return list.__getitem__(self, k)


def sequence_events(events, item_index):
    """Events of model indices from read_events' [(item id, type, time)], without the events on
    items outside item_index (the gateway drops the items a model does not know)."""
    e = [(item_index[i], t, at) for i, t, at in events if i in item_index]
    return Events(*zip(*e)) if e else Events()


def gap_buckets(times, bounds_seconds):
    """time_gaps of one sequence exactly as the gateway computes them (src/inference/model.ts
    timeGapBucket): 1 for the first event and wherever either time is unknown, else 2 + the index
    of the first bound >= the gap in seconds (negative gaps count as 0), 2 + len(bounds) above all.
    Times are integer milliseconds, as JavaScript Dates hold them, so bounds compare exactly."""
    out = [1] * len(times)
    for i in range(1, len(times)):
        a, b = times[i - 1], times[i]
        if a is None or b is None:
            continue
        gap = max(0, b - a)
        j = next((k for k, s in enumerate(bounds_seconds) if gap <= s * 1000), len(bounds_seconds))
        out[i] = 2 + j
    return out


def encoder_inputs(seqs, width):
    """item_ids, event_types, time_gaps (int64 tensors [B, width]) for the encoder, left-padded
    as left_pad (newest event at column width - 1). Rows that are plain item lists (the
    sequences-file format) get 1 (unknown) for type and gap at every item; Events rows get their
    type indices and the gateway's gap buckets over the events kept in the window (so the
    oldest kept event has gap 1, as in the gateway, which keeps the newest maxLen known events)."""
    ids = left_pad(seqs, width)
    ev = (ids > 0).astype(np.int64)
    gaps = ev.copy()
    for r, s in enumerate(seqs):
        if isinstance(s, Events) and len(s):
            s = s[-width:]
            ev[r, width - len(s):] = s.types
            gaps[r, width - len(s):] = gap_buckets(s.times, TIME_GAP_BUCKETS_SECONDS)
    return torch.from_numpy(ids), torch.from_numpy(ev), torch.from_numpy(gaps)


def read_events(path, max_sequences=None):
    """[(sequence id, [(item id, type, time in ms or None), ...])] from an events file; events
    without an item are skipped, sequences left empty are dropped. Raises SystemExit naming the
    line of a malformed record."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                rec = json.loads(line)
            except ValueError as err:
                raise SystemExit(f"{where}: not JSON ({err})")
            if not (isinstance(rec, dict) and isinstance(rec.get("id"), str) and isinstance(rec.get("events"), list)):
                raise SystemExit(f'{where}: expected {{"id": "...", "events": [...]}}')
            events = []
            for k, e in enumerate(rec["events"]):
                item, typ, at = (e.get("item"), e.get("type"), e.get("at")) if isinstance(e, dict) else (0, 0, 0)
                if not (item is None or (isinstance(item, str) and item)) or typ not in EVENT_TYPES or not (
                        at is None or (isinstance(at, (int, float)) and not isinstance(at, bool))):
                    raise SystemExit(f'{where}: events[{k}] must be {{"item": "<item id>" or null, "type": '
                                     f'{"|".join(EVENT_TYPES)}, "at": <epoch seconds> or null}}')
                if item is not None:
                    events.append((item, typ, None if at is None else int(round(at * 1000))))
            if events:
                out.append((rec["id"], events))
            if max_sequences and len(out) >= max_sequences:
                break
    return out


def _time_split(raw, valid_fraction, test_fraction):
    """Sequence positions (train, valid, test, left out) of a split by time. The sequences with at
    least 2 events (those with something to predict) are ordered by their last known event time
    (ties by id; sequences without a time count as the oldest): the newest test_fraction of them
    are test, the valid_fraction before those validation, the rest training. A single-event
    sequence trains when it ended before the first validation sequence did, and is left out
    otherwise (it lies in the held-out period)."""
    def last_time(k):
        times = [t for _, _, t in raw[k][1] if t is not None]
        return (1, max(times), raw[k][0]) if times else (0, 0, raw[k][0])

    longer = sorted((k for k in range(len(raw)) if len(raw[k][1]) >= 2), key=last_time)
    n_test = int(round(test_fraction * len(longer)))
    n_valid = int(round(valid_fraction * len(longer)))
    cut = len(longer) - n_test - n_valid
    train, valid, test = longer[:cut], longer[cut:len(longer) - n_test], longer[len(longer) - n_test:]
    start = last_time(valid[0] if valid else test[0]) if valid or test else None
    single = [k for k in range(len(raw)) if len(raw[k][1]) < 2]
    before = [k for k in single if start is None or last_time(k)[:2] < start[:2]]
    after = [k for k in single if not (start is None or last_time(k)[:2] < start[:2])]
    return sorted(train + before), valid, test, after


def observe(train, use_features=True):
    """model.json `observed` of a training part: the event types it holds (in ENCODER_EVENT_TYPES order)
    and whether it holds a real time gap (two consecutive events with times)."""
    if not use_features:
        return {"eventTypes": [], "timeGaps": False}
    seen = {t for s in train for t in s.types}
    gaps = any(a is not None and b is not None for s in train for a, b in zip(s.times, s.times[1:]))
    return {"eventTypes": [t for t in ENCODER_EVENT_TYPES if t in seen], "timeGaps": gaps}


def apply_observed(seqs, observed):
    """Maps each Events' type names to the encoder's indices as the gateway does (eventTypeIndex:
    the index in ENCODER_EVENT_TYPES when observed in training, else 1 = unknown) and forgets the times
    when no gap was observed (the gateway then feeds 1 for every gap)."""
    index = {t: ENCODER_EVENT_TYPES.index(t) for t in observed["eventTypes"]}
    for s in seqs:
        s.types = [index.get(t, 1) for t in s.types]
        if not observed["timeGaps"]:
            s.times = [None] * len(s.times)


def load_events(events_path, attr_path, dataset, split_kind="time", valid_fraction=0.1, test_fraction=0.1,
                use_features=True, max_sequences=None, valid_from=None, test_from=None):
    """An events file as (Dataset, train, valid, test, info): train = training sequences (Events of
    model indices), valid/test = (input Events, target) pairs, info = what the split did (counts
    for model.json). Model indices: ascending item id among the vocabulary's items.

    split_kind "auto": "cutoff" when the events have times, else "loo". "cutoff": global cut-offs in
    time (load_cutoff; valid_from / test_from in ms override the quantiles). "time" (_time_split): the
    newest sequences by last event time are held out for test, those before them for validation,
    each predicting its last item from the events before it (the session-based protocol); the
    vocabulary is the items of the training sequences with at least 2 events (those the encoder
    learns); held-out events on other items are dropped from the inputs (as the gateway drops items
    it does not know) and held-out sequences whose target is such an item are not evaluated.
    "loo": leave-one-out per sequence, as for the sequences format (vocabulary = every item)."""
    raw = read_events(events_path, max_sequences)
    with open(attr_path) as f:
        raw_attrs = json.load(f)
    info = {"sequences": len(raw), "events": sum(len(e) for _, e in raw),
            "eventTypes": {t: sum(1 for _, e in raw for x in e if x[1] == t) for t in EVENT_TYPES},
            "eventsWithTime": sum(1 for _, e in raw for x in e if x[2] is not None)}
    info["eventTypes"] = {t: n for t, n in info["eventTypes"].items() if n}
    if split_kind == "auto":
        split_kind = "cutoff" if info["eventsWithTime"] else "loo"
    info["split"] = split_kind
    if split_kind == "cutoff":
        if info["eventsWithTime"] == 0:
            raise SystemExit(f"--split cutoff needs event times: none of the {info['events']} events of "
                             f"{events_path} has one (use --split loo)")
        t_valid, t_test = choose_cutoffs(raw, valid_fraction, test_fraction, valid_from, test_from)
        ds, train, valid, test, more = load_cutoff(raw, raw_attrs, dataset, t_valid, t_test, use_features)
        return ds, train, valid, test, {**info, **more}
    if split_kind == "time":
        if info["eventsWithTime"] == 0:
            raise SystemExit(f"--split time needs event times: none of the {info['events']} events of "
                             f"{events_path} has one (use --split loo)")
        tr, va, te, left_out = _time_split(raw, valid_fraction, test_fraction)
        info["leftOutSingleEvents"] = len(left_out)
        item_raw = sorted({i for k in tr if len(raw[k][1]) >= 2 for i, _, _ in raw[k][1]}, key=_sort_key)
    else:
        tr, va, te = list(range(len(raw))), [], []
        item_raw = sorted({i for _, e in raw for i, _, _ in e}, key=_sort_key)
    item_index, attr_raw, item_attrs = _vocabulary(item_raw, raw_attrs)

    def mapped(k):
        return sequence_events(raw[k][1], item_index)

    if split_kind == "time":
        train = [s for s in map(mapped, tr) if s]

        def pairs(ks, name):
            out, unknown, empty = [], 0, 0
            for k in ks:
                if raw[k][1][-1][0] not in item_index:
                    unknown += 1
                    continue
                s = mapped(k)
                if len(s) < 2:
                    empty += 1
                else:
                    out.append((s[:-1], s[-1]))
            info[name] = {"sequences": len(ks), "evaluated": len(out),
                          "skippedUnknownTarget": unknown, "skippedNoKnownInput": empty,
                          **_last_times(raw, ks)}
            return out

        valid, test = pairs(va, "valid"), pairs(te, "test")
        info["train"] = {"sequences": len(tr), "events": sum(map(len, train)), **_last_times(raw, tr)}
    else:
        train, valid, test = split([mapped(k) for k in tr])
        info["train"] = {"sequences": len(tr), "events": sum(map(len, train))}
        info["valid"] = {"evaluated": len(valid)}
        info["test"] = {"evaluated": len(test)}
    observed = observe(train, use_features)
    apply_observed(train + [p[0] for p in valid] + [p[0] for p in test], observed)
    info["observed"] = observed
    ds = Dataset(dataset, [raw[k][0] for k in tr], train, item_raw, attr_raw, item_attrs, verbatim=True)
    return ds, train, valid, test, info


def _last_times(raw, ks):
    """{"lastEventFrom", "lastEventTo"}: the range of the sequences' last known event times (UTC)."""
    times = [max(t for _, _, t in raw[k][1] if t is not None) for k in ks if any(x[2] is not None for x in raw[k][1])]
    iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat()  # noqa: E731
    return {"lastEventFrom": iso(min(times)), "lastEventTo": iso(max(times))} if times else {}


# --- The cut-off protocol (events with times) -----------------------------------------------------
#
# Global cut-offs T_valid < T_test split time, not shoppers: every sequence's events before T_valid
# train the evaluated fit; each event at or after T_valid (before T_test: validation, from T_test on:
# test) that has an earlier event in its sequence is a next-event target, its input being all of
# that sequence's events before it (those before the cut-off included). Events are placed in time
# by their own time, or, without one, by the time of the event before them in their sequence (the
# first event with a time after them when none comes before; a sequence without any time is
# training data only). Within a sequence events are ordered by that time, ties in the gateway's order,
# so an input never holds an event newer than its target.

# a split with fewer evaluated targets than this cannot choose (validation) or judge (test) a model:
# at a hit rate of 0.2 the 95 % interval of HR@10 over 200 targets is about +-0.055, over 100 +-0.08
MIN_TARGETS = 200


def effective_times(events):
    """Each event's time in ms for ordering, from read_events' [(item, type, time or None)]: its own,
    else the previous event's, else the next known one; None for every event when none has a time."""
    known = [t for _, _, t in events if t is not None]
    if not known:
        return [None] * len(events)
    out, last = [], None
    nxt = [None] * len(events)
    upcoming = None
    for k in range(len(events) - 1, -1, -1):
        if events[k][2] is not None:
            upcoming = events[k][2]
        nxt[k] = upcoming
    for k, (_, _, t) in enumerate(events):
        last = t if t is not None else (last if last is not None else nxt[k])
        out.append(last)
    return out


def time_ordered(events):
    """(events, times): the sequence ordered by effective time, ties (and a sequence without times)
    in the given order."""
    times = effective_times(events)
    if times[0] is None:
        return list(events), times
    order = sorted(range(len(events)), key=lambda k: (times[k], k))
    return [events[k] for k in order], [times[k] for k in order]


def choose_cutoffs(raw, valid_fraction, test_fraction, valid_from=None, test_from=None):
    """(T_valid, T_test) in ms: by default the event-time quantiles 1 - valid - test and 1 - test (so
    about test_fraction of the timed events are at or after T_test and valid_fraction between the
    two); valid_from / test_from (ms) override either. Raises SystemExit when they do not leave
    T_valid < T_test with events before T_valid."""
    times = sorted(t for _, e in raw for t in effective_times(e) if t is not None)
    if not times:
        raise SystemExit("the cut-off protocol needs event times: no event has one (use --split loo)")

    def quantile(q):
        return times[min(len(times) - 1, int(q * len(times)))]

    t_test = test_from if test_from is not None else quantile(1 - test_fraction)
    t_valid = valid_from if valid_from is not None else quantile(1 - test_fraction - valid_fraction)
    if valid_from is None and t_valid >= t_test:
        # few distinct times (or many events on one): the newest time before T_test
        t_valid = max((t for t in times if t < t_test), default=t_valid)
    if not t_valid < t_test:
        raise SystemExit(f"the validation cut-off {iso(t_valid)} must come before the test cut-off {iso(t_test)} "
                         "(too many events share one time: give --valid-from / --test-from)")
    if t_valid <= times[0]:
        raise SystemExit(f"no event comes before the validation cut-off {iso(t_valid)} (the first is at "
                         f"{iso(times[0])}): nothing to train on")
    return t_valid, t_test


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat()


@dataclass
class Target:
    sequence: int   # index in raw
    position: int   # index of the target event in the time-ordered sequence
    part: str       # "valid" or "test"


def cutoff_split(raw, t_valid, t_test):
    """(ordered, train_prefixes, targets): the sequences ordered in time [(events, times)], each
    sequence's events before t_valid (raw event tuples; empty ones too) and the Targets, in sequence
    then position order."""
    ordered = [time_ordered(e) for _, e in raw]
    prefixes, targets = [], []
    for k, (events, times) in enumerate(ordered):
        cut = sum(1 for t in times if t is None or t < t_valid)
        prefixes.append(events[:cut])
        for j in range(max(1, cut), len(events)):
            targets.append(Target(k, j, "valid" if times[j] < t_test else "test"))
    return ordered, prefixes, targets


def cutoff_pairs(ordered, targets, part, item_index):
    """(pairs, repeat, info) of one part: pairs = (input Events, target index) for the targets whose
    item the vocabulary holds and whose input keeps an item it holds; repeat[k] = pair k's target
    item is among its sequence's earlier items. info counts them (targets, evaluated, skipped,
    repeat and novel targets, sequences with a target)."""
    pairs, flags, unknown, empty, seqs = [], [], 0, 0, set()
    mine = [t for t in targets if t.part == part]
    for t in mine:
        events = ordered[t.sequence][0]
        item = events[t.position][0]
        if item not in item_index:
            unknown += 1
            continue
        s = sequence_events(events[:t.position], item_index)
        if not s:
            empty += 1
            continue
        repeat = any(e[0] == item for e in events[:t.position])
        pairs.append((s, item_index[item]))
        flags.append(repeat)
        seqs.add(t.sequence)
    repeats = sum(flags)
    info = {"targets": len(mine), "evaluated": len(pairs), "skippedUnknownTarget": unknown,
            "skippedNoKnownInput": empty, "repeatTargets": repeats, "novelTargets": len(pairs) - repeats,
            "sequences": len(seqs)}
    return pairs, flags, info


def repeat_share(seqs):
    """{"targets", "repeats", "share"}: of the next-event targets of these sequences (every event
    after the first), how many are on an item already in the sequence before it."""
    n = r = 0
    for s in seqs:
        seen = set()
        for k, i in enumerate(s):
            if k:
                n += 1
                r += i in seen
            seen.add(i)
    return {"targets": n, "repeats": r, "share": (r / n) if n else 0.0}


def refuse_small(info, minimum):
    """SystemExit naming the counts when the validation or test part holds fewer than `minimum`
    evaluated targets (model selection or judgement would rest on noise)."""
    small = [p for p in ("valid", "test") if info[p]["evaluated"] < minimum]
    if not small:
        return
    counts = "; ".join(f"{p}: {info[p]['evaluated']} evaluated of {info[p]['targets']} targets "
                       f"({info[p]['skippedUnknownTarget']} on items unseen before the validation cut-off, "
                       f"{info[p]['skippedNoKnownInput']} without a known earlier event)"
                       for p in ("valid", "test"))
    raise SystemExit(
        f"too few targets to {'choose' if 'valid' in small else 'judge'} a model"
        f"{' or to judge it' if small == ['valid', 'test'] else ''}: {counts}. "
        f"Each of validation and test needs at least {minimum} (--min-targets). Import more history, "
        "move the cut-offs (--valid-from / --test-from, --valid-fraction / --test-fraction), or lower "
        "--min-targets knowing the intervals widen.")


def load_cutoff(raw, raw_attrs, dataset, t_valid, t_test, use_features=True):
    """The cut-off protocol of read_events' sequences: (Dataset, train, valid, test, info) where
    train = the training prefixes (Events, vocabulary = the items of the prefixes with at least 2
    events), valid/test = (input Events, target) pairs; info["repeat"] = {"valid", "test"}: whether
    each pair's target repeats an earlier item; info["fullData"] = (Dataset, sequences, observed) of
    every event (what the shipped model is refit on: vocabulary = every item)."""
    ordered, prefixes, targets = cutoff_split(raw, t_valid, t_test)
    item_raw = sorted({i for p in prefixes if len(p) >= 2 for i, _, _ in p}, key=_sort_key)
    item_index, attr_raw, item_attrs = _vocabulary(item_raw, raw_attrs)
    train = [s for s in (sequence_events(p, item_index) for p in prefixes) if s]
    valid, vrep, vinfo = cutoff_pairs(ordered, targets, "valid", item_index)
    test, trep, tinfo = cutoff_pairs(ordered, targets, "test", item_index)
    info = {"cutoffs": {"valid": iso(t_valid), "test": iso(t_test)},
            "train": {"sequences": sum(1 for p in prefixes if p), "events": sum(map(len, prefixes)),
                      "vocabularyEvents": sum(map(len, train)), "items": len(item_raw)},
            "valid": vinfo, "test": tinfo,
            "trainRepeatShare": repeat_share(train)}
    full_raw = sorted({i for events, _ in ordered for i, _, _ in events}, key=_sort_key)
    full_index, full_attr_raw, full_attrs = _vocabulary(full_raw, raw_attrs)
    full = [s for s in (sequence_events(events, full_index) for events, _ in ordered) if s]
    info["full"] = {"sequences": len(full), "events": sum(map(len, full)), "items": len(full_raw),
                    "lastEvent": iso(max(t for _, times in ordered for t in times if t is not None))}
    observed = observe(train, use_features)
    apply_observed(train + [p[0] for p in valid] + [p[0] for p in test], observed)
    info["observed"] = observed
    full_observed = observe(full, use_features)
    apply_observed(full, full_observed)
    info["repeat"] = {"valid": vrep, "test": trep}
    users = [raw[k][0] for k in range(len(raw))]
    ds = Dataset(dataset, users, train, item_raw, attr_raw, item_attrs, verbatim=True)
    info["fullData"] = (Dataset(dataset, users, full, full_raw, full_attr_raw, full_attrs, verbatim=True), full,
                        full_observed)
    return ds, train, valid, test, info
