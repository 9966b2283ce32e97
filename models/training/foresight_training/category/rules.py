"""The rule baselines a next-category forecast must beat, as distributions over the categories
(index 0, the padding, always 0). The gateway computes the same from a shopper's history
(src/forecast/category/rules.ts); parity.json pins the two together.

- last: the last event's category;
- recency: each input event's category weighted by DECAY ** (events after it);
- session: the categories of the input's last session (events at most SESSION_GAP_SECONDS
  apart; without times, the last SESSION_EVENTS events);
- popularity: the categories' share of the training events;
- transitions ("label Markov"): P(next category | last event's category) from the training
  sequences, shrunk towards popularity by MARKOV_PRIOR pseudo-counts.
"""
import numpy as np

DECAY = 0.7
SESSION_GAP_SECONDS = 1800.0
SESSION_EVENTS = 5
MARKOV_PRIOR = 1.0
RULES = ("last", "recency", "session", "popularity", "transitions")


class RuleTables:
    """What the rules learn from training sequences: category popularity and transition counts."""

    def __init__(self, num_categories, train):
        C = num_categories + 1
        counts = np.zeros(C)
        trans = {}
        for seq in train:
            for k, (_, c, _) in enumerate(seq):
                counts[c] += 1
                if k:
                    row = trans.setdefault(seq[k - 1][1], {})
                    row[c] = row.get(c, 0) + 1
        # every category keeps a little mass, so that log losses stay finite
        counts[1:] += 0.5
        self.popularity = counts / counts.sum()
        self.transitions = trans
        self.C = C

    def markov(self, last):
        row = self.transitions.get(last, {})
        total = sum(row.values())
        p = MARKOV_PRIOR * self.popularity.copy()
        for c, n in row.items():
            p[c] += n
        return p / (total + MARKOV_PRIOR)


def session_start(times):
    """Index of the first event of the input's last session."""
    n = len(times)
    if n == 0:
        return 0
    if any(t is None for t in times):
        return max(0, n - SESSION_EVENTS)
    k = n - 1
    while k > 0 and times[k] - times[k - 1] <= SESSION_GAP_SECONDS:
        k -= 1
    return k


def rule_distributions(tables, cats, times):
    """Every rule's distribution for one input: {rule: np.array [C]}."""
    C = tables.C
    out = {}
    last = np.zeros(C)
    last[cats[-1]] = 1.0
    out["last"] = last
    rec = np.zeros(C)
    n = len(cats)
    for k, c in enumerate(cats):
        rec[c] += DECAY ** (n - 1 - k)
    out["recency"] = rec / rec.sum()
    ses = np.zeros(C)
    for c in cats[session_start(times):]:
        ses[c] += 1.0
    out["session"] = ses / ses.sum()
    out["popularity"] = tables.popularity
    out["transitions"] = tables.markov(cats[-1])
    return out


def ranked(dist, popularity):
    """A rule's ranking: its own scores, ties (and the categories it gives nothing) by popularity."""
    return dist + 1e-6 * popularity
