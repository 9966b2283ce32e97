"""Reads the UCI Online Shoppers Purchasing Intention CSV into the raw feature matrix the ONNX
model takes (FEATURES order, float32), and builds the two evaluation protocols' splits."""
import csv
import hashlib

import numpy as np

# The ONNX input's 17 columns, in order. Everything is fed raw: preprocessing is in the graph.
FEATURES = [
    "Administrative", "Administrative_Duration", "Informational", "Informational_Duration",
    "ProductRelated", "ProductRelated_Duration", "BounceRates", "ExitRates", "PageValues",
    "SpecialDay", "Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType",
    "Weekend",
]
COLUMN = {name: i for i, name in enumerate(FEATURES)}

# Month as its calendar number. The CSV spells June out and abbreviates the others; it has no
# Jan or Apr sessions, so those two are outside every training vocabulary (one-hot all zeros).
MONTHS = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "June": 6, "Jul": 7, "Aug": 8,
          "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}
VISITOR_TYPES = {"Returning_Visitor": 0, "New_Visitor": 1, "Other": 2}
BOOLEANS = {"FALSE": 0, "TRUE": 1}
HEADER = FEATURES + ["Revenue"]


class Sessions:
    """The parsed CSV: x [N, 17] float32 raw features, y [N] int64 (Revenue), and the file's
    sha256 so metrics can name the exact data they were measured on. Row i is the CSV line i
    after the header (0-based), which is what parity.json's "row" refers to."""

    def __init__(self, x, y, sha256):
        self.x, self.y, self.sha256 = x, y, sha256


def _value(name, text, line):
    try:
        if name == "Month":
            return MONTHS[text]
        if name == "VisitorType":
            return VISITOR_TYPES[text]
        if name in ("Weekend", "Revenue"):
            return BOOLEANS[text]
        return float(text)
    except (KeyError, ValueError) as e:
        raise ValueError(f"line {line}: column {name} has unexpected value {text!r}") from e


def load(path):
    with open(path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader, None)
        if header != HEADER:
            raise ValueError(f"{path}: expected the UCI shoppers header {';'.join(HEADER)}, got {header}")
        # line numbers in errors are the file's own (header = line 1)
        rows = [[_value(n, t, line) for n, t in zip(HEADER, r)] for line, r in enumerate(reader, start=2)]
    table = np.asarray(rows, dtype=np.float64)
    return Sessions(table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64), sha256)


def stratified_split(index, y, fractions, rng):
    """Splits index into len(fractions) disjoint parts with each class spread in proportion
    (per class: shuffle, cut at the cumulative fractions). Returns sorted index arrays."""
    parts = [[] for _ in fractions]
    cuts = np.cumsum(fractions)[:-1]
    for label in np.unique(y[index]):
        members = rng.permutation(index[y[index] == label])
        for part, chunk in zip(parts, np.split(members, np.round(cuts * len(members)).astype(int))):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def random_protocol(sessions, rng):
    """(a) stratified 70 / 15 / 15 train / valid / test over all sessions."""
    index = np.arange(len(sessions.y))
    return stratified_split(index, sessions.y, [0.70, 0.15, 0.15], rng)


def drift_protocol(sessions, rng):
    """(b) seasonal drift: train and valid (a stratified 15 % slice) from Feb-Oct, test = every
    Nov-Dec session, where the purchase rate and the share of purchases without PageValues rise."""
    month = sessions.x[:, COLUMN["Month"]]
    early = np.flatnonzero(month <= 10)
    train, valid = stratified_split(early, sessions.y, [0.85, 0.15], rng)
    return train, valid, np.flatnonzero(month >= 11)
