"""The co-occurrence term (--cooccurrence): weight * candidate_cooccurrence, the feature
x = sum over k < window of decay^k * S[h_k, candidate] that the gateway computes from
cooccurrence.bin (models/README.md `scorer.cooccurrence`; the table and the choice of weight, window
and alpha on validation are in cooccurrence_table.py)."""
import argparse
import os

import torch

from ...contract import SCORER_COOCCURRENCE_INPUTS
from ..metrics import exclude_inputs
from .cooccurrence_table import DECAY, SEQUENTIAL_ALPHAS, Cooccurrence, select
from .term import Term


class CooccurrenceTerm(Term):
    """The contract pairs it with scorer.markovItems (train.py refuses --cooccurrence without
    --markov-items K > 1)."""

    name = "cooccurrence"
    inputs, dynamic_axes = tuple(SCORER_COOCCURRENCE_INPUTS), SCORER_COOCCURRENCE_INPUTS
    # row 4 holds a single item: the window's older slots are missing and add 0
    parity_rows = (4,)
    CHECKPOINT_ABSENT = {"cooccurrence": None}

    def __init__(self, weight, window, decay, table=None):
        """table: the cooccurrence_table.Cooccurrence of the training part; ranking all items and export
        need it (cooccurrence.bin, parity fixture), scorer.onnx does not."""
        super().__init__()
        self.register_buffer("weight", torch.tensor(float(weight)))
        # add_all multiplies by the Python number, as the ranking always has (metrics reproduce)
        self.w = weight
        self.window = self.history = window
        self.decay, self.table = decay, table

    @classmethod
    def add_flags(cls, p):
        p.add_argument("--cooccurrence", action=argparse.BooleanOptionalAction, default=None,
                       help="add the item co-occurrence term to the scorer (weight and window chosen on validation; "
                            "needs --markov-refine --markov-items K > 1)")
        p.add_argument("--cooccurrence-neighbors", type=int, default=50, metavar="M",
                       help="most similar items kept per item for the co-occurrence term")
        p.add_argument("--cooccurrence-sequential", type=int, default=None, metavar="G",
                       help="add sequential rules to the co-occurrence table: alpha * log(1 + how often j came 2 .. G "
                            "positions after i), alpha chosen on validation with the weight and window (0 = off)")

    @classmethod
    def check_args(cls, p, args):
        if args.cooccurrence_neighbors < 1:
            p.error(f"--cooccurrence-neighbors must be at least 1, not {args.cooccurrence_neighbors:g}")
        # export writes the co-occurrence term only beside scorer.markovItems (the gateway's contract)
        if args.cooccurrence and args.markov_items < 2:
            p.error("--cooccurrence needs --markov-refine --markov-items K > 1")
        if args.cooccurrence_sequential and not args.cooccurrence:
            p.error("--cooccurrence-sequential needs --cooccurrence")
        if args.cooccurrence_sequential < 0 or args.cooccurrence_sequential == 1:
            p.error(f"--cooccurrence-sequential must be 0 (off) or a gap of at least 2 (gap 1 is the Markov term's), "
                    f"not {args.cooccurrence_sequential}")

    @classmethod
    def hyper_parameters(cls, args):
        if not args.cooccurrence:
            return {}
        hp = {"cooccurrence": True, "cooccurrence_neighbors": args.cooccurrence_neighbors}
        if args.cooccurrence_sequential:
            hp["cooccurrence_sequential"] = args.cooccurrence_sequential
        return hp

    @classmethod
    def fit(cls, fitting, terms):
        """Weight, window and alpha chosen together on validation (cooccurrence_table.select), against the
        scorer of the other terms, with --exclude-history's protocol; None if the weight is 0."""
        args = fitting.args
        if not args.cooccurrence:
            return None
        others = [t for name, t in terms.items() if name != cls.name]
        alphas = SEQUENTIAL_ALPHAS if args.cooccurrence_sequential >= 2 else (0.0,)
        tables = Cooccurrence.grid(fitting.train_seqs, fitting.num_items, args.cooccurrence_neighbors,
                                   args.cooccurrence_sequential, alphas)

        def base_scores(s, e):
            scores = fitting.scores(others, s, e)
            return exclude_inputs(scores, fitting.valid[s:e]) if args.exclude_history else scores

        alpha, weight, window, _ = select(tables, base_scores, fitting.valid, log=fitting.log)
        table = tables[alpha]
        fitting.log(f"cooccurrence: {table.pairs} pairs, alpha {alpha:g}, weight {weight:g}, window {window}",
                    flush=True)
        if weight <= 0:
            return None
        # train.py then records the validation NDCG@10 of the final scorer
        fitting.remeasure = True
        return cls(weight, window, DECAY, table)

    @classmethod
    def refit(cls, fitting, terms, chosen):
        """The chosen weight, window and alpha over a table of fitting's sequences."""
        if chosen is None:
            return None
        seq = chosen.table.sequential or {"maxGap": 0, "alpha": 0.0}
        table = Cooccurrence(fitting.train_seqs, fitting.num_items, chosen.table.neighbors, seq["maxGap"], seq["alpha"])
        return cls(chosen.w, chosen.window, chosen.decay, table)

    def forward(self, x, candidate_cooccurrence):
        return self.weight * candidate_cooccurrence

    def add_all(self, scores, x):
        if not self.w:
            return scores
        return scores + self.w * self.table.feature(x.history[:, :self.window], self.decay)

    def _feature(self, ids):
        """[R, num_items + 1]: the feature of every item for the rows' `window` newest items."""
        hist = torch.stack([ids[:, -1 - k] for k in range(self.window)], 1)
        return self.table.feature(hist, self.decay)

    def parity_candidates(self, ids):
        feat = self._feature(ids)
        return [[int(j) for j in torch.argsort(-f)[:2] if f[j] > 0] for f in feat]

    def parity_inputs(self, ids, candidates):
        return (self._feature(ids).gather(1, candidates),)

    def export(self, out):
        self.table.write(os.path.join(out, "cooccurrence.bin"))
        t = self.table
        part = {"weight": float(self.weight), "window": self.window, "decay": self.decay, "neighbors": t.neighbors,
                "pairs": t.pairs, **({"sequential": t.sequential} if t.sequential else {})}
        return {"cooccurrence": "cooccurrence.bin"}, {"cooccurrence": part}

    def checkpoint(self):
        t = self.table
        return {"cooccurrence": {"weight": self.w, "window": self.window, "decay": self.decay,
                                 "neighbors": t.neighbors, "sequential": t.sequential}}

    @classmethod
    def from_checkpoint(cls, stored, fit, num_items, dim):
        c = stored.get("cooccurrence")
        if not c:
            return None
        seq = c.get("sequential") or {"maxGap": 0, "alpha": 0.0}
        table = Cooccurrence(fit, num_items, c["neighbors"], seq["maxGap"], seq["alpha"])
        return cls(c["weight"], c["window"], c["decay"], table)
