"""Loading of sequence datasets in the S3-Rec/CL4SRec text format and the leave-one-out split.

Sequences file: one line per user, `user_id item_id item_id ...`, oldest first.
Attributes file: JSON object raw item id -> list of raw attribute ids.
Model indices are 1-based in ascending raw-id order; 0 is padding everywhere.
"""
import json
import os
from dataclasses import dataclass

import numpy as np


@dataclass
class Dataset:
    name: str                 # lower-cased base name of the sequences file
    users: list               # raw user ids (strings), in file order
    seqs: list                # per user: list of model item indices, oldest first
    item_raw: list            # item_raw[k] = raw id of model index k + 1
    attr_raw: list            # attr_raw[k] = raw id of attribute index k + 1
    item_attrs: np.ndarray    # int64 [num_items + 1, max_attrs], 0-padded attribute indices

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
    item_index = {r: k + 1 for k, r in enumerate(item_raw)}
    attr_raw = sorted({str(a) for i in item_raw for a in raw_attrs.get(i, [])}, key=_sort_key)
    attr_index = {r: k + 1 for k, r in enumerate(attr_raw)}
    width = max([len(raw_attrs.get(i, [])) for i in item_raw] + [1])
    item_attrs = np.zeros((len(item_raw) + 1, width), dtype=np.int64)
    for r, k in item_index.items():
        idx = [attr_index[str(a)] for a in raw_attrs.get(r, [])]
        item_attrs[k, : len(idx)] = idx
    seqs = [[item_index[i] for i in s] for s in raw_seqs]
    return Dataset(dataset_name(seq_path), users, seqs, item_raw, attr_raw, item_attrs)


def split(seqs):
    """Leave-one-out: returns (train, valid, test) where train[u] is the training sequence and
    valid/test are (input sequence, target) pairs; users with < 3 events are skipped for eval."""
    train, valid, test = [], [], []
    for s in seqs:
        if len(s) < 3:
            train.append(list(s))
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
