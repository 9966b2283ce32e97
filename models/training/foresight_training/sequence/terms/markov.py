"""The first-order Markov term (--markov): beta0 * log(1 + c) + beta1 * c / max(out, 1) over the
transition counts of the newest item (or, with --markov-refine, the learned reshaping
markov_refine.MarkovRefine, over the K newest items with --markov-items K), and transitions.bin
(models/README.md). The betas are learned with the encoder, the refine after it."""
import argparse
import os

import torch
import torch.nn as nn

from ...contract import SCORER_MARKOV_INPUTS, SCORER_MARKOV_ITEMS_INPUTS
from .markov_refine import STEPS, MarkovRefine, fit_refine
from .term import Term
from .transitions import Transitions


def markov_term(c, out, beta):
    """The scorer's first-order Markov term: c = transition counts from the newest item to the
    candidates, out = all transitions out of the newest item (broadcast against c)."""
    return beta[0] * torch.log1p(c) + beta[1] * c / out.clamp(min=1.0)


class MarkovTerm(Term):
    """c = candidate_transitions (how often the candidate directly followed the subject's newest
    item in training), out = newest_out_transitions (all transitions out of that item); with a
    MarkovRefine of items = K > 1, candidate_transitions [B, K, N] and history_out_transitions
    [B, K] over the K newest items (models/README.md `scorer.markovItems`)."""

    name = "markov"
    ABSENT = {"markov": None, "markovRefined": False, "transitions": 0}
    CHECKPOINT_ABSENT = {"markov": None, "markovRefine": None}
    encoder_flags = ("markov",)

    def __init__(self, beta, refine=None, counts=None):
        """beta: the two base weights (an nn.Parameter while encoder training learns them);
        refine: a fitted MarkovRefine or None; counts: the training part's transitions.Transitions,
        which ranking all items and export need (transitions.bin, parity fixture) and scorer.onnx
        does not."""
        super().__init__()
        if isinstance(beta, nn.Parameter):
            self.beta = beta
        else:
            self.register_buffer("beta", torch.as_tensor(beta, dtype=torch.float32))
        self.refine = refine
        self.counts = counts
        self.items = self.history = refine.items if refine is not None else 1
        if self.items > 1:
            self.inputs, self.dynamic_axes = tuple(SCORER_MARKOV_ITEMS_INPUTS), SCORER_MARKOV_ITEMS_INPUTS
            # row 4 holds a single item, so its older slots are 0
            self.parity_rows = (4,)
        else:
            self.inputs, self.dynamic_axes = tuple(SCORER_MARKOV_INPUTS), SCORER_MARKOV_INPUTS

    @classmethod
    def add_flags(cls, p):
        p.add_argument("--markov", action=argparse.BooleanOptionalAction, default=None,
                       help="learn the scorer's first-order Markov term (transition counts) jointly")
        p.add_argument("--markov-refine", action=argparse.BooleanOptionalAction, default=None,
                       help="after the encoder, fit per-user gates and a small MLP of (count, out, inner product) "
                            "that reshape the Markov term (markov_refine.MarkovRefine; same scorer inputs)")
        p.add_argument("--markov-items", type=int, default=None, metavar="K",
                       help="with --markov-refine: the refined term sums the transitions of the K newest items "
                            "(scorer inputs [B, K, N] and [B, K], model.json scorer.markovItems; 1 = newest item "
                            "only)")

    @classmethod
    def check_args(cls, p, args):
        if args.markov_items < 1:
            p.error(f"--markov-items must be at least 1, not {args.markov_items:g}")
        if args.markov and args.negatives:
            p.error("--markov needs the full softmax (--negatives 0)")
        if args.markov_refine and not args.markov:
            p.error("--markov-refine needs --markov")
        if args.markov_items > 1 and not args.markov_refine:
            p.error("--markov-items needs --markov --markov-refine")

    @classmethod
    def hyper_parameters(cls, args):
        # absent with the default, so a K = 1 model.json is as before
        return {"markov_items": args.markov_items} if args.markov_items > 1 else {}

    @classmethod
    def with_encoder(cls, train_seqs, num_items, args, stored=None):
        if not args.markov:
            return None
        counts = Transitions(train_seqs, num_items)
        beta = nn.Parameter(torch.zeros(2)) if stored is None else torch.tensor(stored["markov"])
        return cls(beta, counts=counts)

    def add_to_logits(self, logits, last, own):
        # leave-one-out counts: a position's own transition is not evidence for itself; only the
        # non-zero counts are touched
        rows, cols, c, out = self.counts.entries(last, own)
        return logits.index_put((rows, cols - 1), markov_term(c, out, self.beta), accumulate=True)

    def epoch_note(self):
        return f" beta {self.beta[0].item():.3f},{self.beta[1].item():.3f}"

    def snapshot(self):
        return MarkovTerm(self.beta.detach().clone(), self.refine, self.counts)

    @classmethod
    def fit(cls, fitting, terms):
        """With --markov-refine, the refine fitted at the training positions over the betas encoder
        training learned; otherwise the term as encoder training left it."""
        plain, args = terms.get(cls.name), fitting.args
        if plain is None or not args.markov_refine:
            return plain
        k = args.markov_items
        last = fitting.positions.history(k)
        refine = fit_refine(plain.counts, plain.beta, fitting.positions.user_states, fitting.positions.targets,
                            last[:, 0] if k == 1 else last, fitting.V, args.seed, log=fitting.log,
                            steps=args.max_steps or STEPS)
        term = cls(plain.beta, refine, plain.counts)
        v = fitting.ndcg({**terms, cls.name: term}.values())
        fitting.log(f"markov refine: valid NDCG@10 {v:.4f} (plain term {fitting.ndcg(terms.values()):.4f})",
                    flush=True)
        fitting.valid_ndcg = v
        return term

    @classmethod
    def refit(cls, fitting, terms, chosen):
        """The betas as the refit's encoder training learned them, refined at its training positions
        when the evaluated fit's term was."""
        return cls.fit(fitting, terms)

    def forward(self, x, candidate_transitions, out_transitions):
        c = candidate_transitions
        if self.refine is None:
            return markov_term(c, out_transitions.unsqueeze(-1), self.beta)
        if self.items > 1:
            term = self.refine(c, out_transitions, x.user_state, x.dot.unsqueeze(1).expand_as(c), self.beta, rows=True)
            return term.sum(1)
        return self.refine(c.unsqueeze(1), out_transitions.unsqueeze(1), x.user_state, x.dot.unsqueeze(1), self.beta,
                           rows=True)[:, 0]

    def add_all(self, scores, x):
        C, out = self.counts.C, self.counts.out
        if self.refine is None:
            last = x.history[:, 0]
            return scores + markov_term(C[last], out[last].unsqueeze(-1), self.beta)
        # the refined term is 0 where the count is 0: only the history items' successors are touched
        if self.items > 1:
            rows, cols, c, n, k = self.counts.history_entries(x.history[:, :self.items])
            term = self.refine(c, n, x.user_state[rows], x.dot[rows, cols], self.beta, k)
        else:
            rows, cols, c, n = self.counts.entries(x.history[:, 0])
            term = self.refine(c, n, x.user_state[rows], x.dot[rows, cols], self.beta)
        return scores.index_put((rows, cols), term, accumulate=True)

    def _history(self, ids):
        """[R, K]: the rows' K newest input items, newest first (0 = none)."""
        return torch.stack([ids[:, -1 - k] for k in range(self.items)], 1)

    def parity_candidates(self, ids):
        # the real top successors: the newest item's top 3, or each of the K newest items' top 2
        top = 3 if self.items == 1 else 2
        C = self.counts.C
        rows = []
        for hist in self._history(ids).tolist():
            succ = []
            for h in hist:
                if h > 0:
                    succ += [int(j) for j in torch.argsort(-C[h])[:top] if C[h, j] > 0 and int(j) not in succ]
            rows.append(succ)
        return rows

    def parity_inputs(self, ids, candidates):
        C, out = self.counts.C, self.counts.out
        hist = self._history(ids)
        if self.items == 1:
            return C[hist[:, 0].unsqueeze(-1), candidates], out[hist[:, 0]]
        return C[hist.unsqueeze(-1), candidates.unsqueeze(1)], out[hist]

    def export(self, out):
        part = {"markov": [float(b) for b in self.beta],
                # --markov-refine: the term is reshaped inside scorer.onnx (same inputs, still >= 0)
                "markovRefined": self.refine is not None}
        if self.items > 1:  # --markov-items K: the Markov inputs cover the K newest items
            part["markovItems"] = self.items
        part["transitions"] = self.counts.write(os.path.join(out, "transitions.bin"))
        return {"transitions": "transitions.bin"}, part

    def checkpoint(self):
        return {"markov": self.beta.tolist(), "markovRefine": None if self.refine is None else self.refine.state_dict()}

    @classmethod
    def from_checkpoint(cls, stored, fit, num_items, dim):
        if not stored.get("markov"):
            return None
        refine = None
        if stored.get("markovRefine"):
            refine = MarkovRefine(dim, stored["args"].get("markov_items", 1))
            refine.load_state_dict(stored["markovRefine"])
            refine.eval()
        return cls(stored["markov"], refine, Transitions(fit, num_items))
