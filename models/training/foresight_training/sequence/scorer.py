"""The candidate scorer: the inner product of user state and item vector plus the sum of its terms'
contributions (terms/), for the gateway's candidates (forward, exported as scorer.onnx) and for
every item at once (score_all: validation, weight selection, evaluate.py's metrics)."""
from typing import NamedTuple

import torch
import torch.nn as nn

from ..contract import SCORER
from .terms import TERMS


class Candidates(NamedTuple):
    """What every scoring term reads besides its own inputs: the scorer's shared inputs and the
    candidates' inner products with the user state."""
    user_state: torch.Tensor  # [B, dim]
    category_probs: torch.Tensor  # [B, numAttributes + 1]
    embeddings: torch.Tensor  # [B, N, dim]
    attrs: torch.Tensor  # [B, N, A]
    dot: torch.Tensor  # [B, N]


class Scorer(nn.Module):
    """score = <user_state, candidate_embedding> + the sum of its terms' contributions (terms/:
    category, Markov, co-occurrence; models/README.md scorer.onnx). scorer.onnx takes the four
    shared inputs (contract.SCORER), then each term's own, in terms.TERMS order."""

    def __init__(self, terms):
        super().__init__()
        order = [t.name for t in TERMS]
        self.terms = nn.ModuleDict((t.name, t) for t in sorted(terms, key=lambda t: order.index(t.name)))

    @property
    def inputs(self):
        return list(SCORER.inputs) + [name for t in self.terms.values() for name in t.inputs]

    @property
    def history(self):
        """How many of the subject's newest items its terms read to score all items."""
        return max((t.history for t in self.terms.values()), default=0)

    def forward(self, user_state, category_probs, candidate_embeddings, candidate_attrs, *term_inputs):
        dot = torch.matmul(candidate_embeddings, user_state.unsqueeze(-1)).squeeze(-1)  # [B, N]
        x = Candidates(user_state, category_probs, candidate_embeddings, candidate_attrs, dot)
        score, at = dot, 0
        for term in self.terms.values():
            n = len(term.inputs)
            score = score + term(x, *term_inputs[at:at + n])
            at += n
        return score

    def checkpoint(self):
        """Its terms' parts of checkpoint.pt, a lacking term's saying so (what from_checkpoint reads)."""
        stored = {}
        for kind in TERMS:
            stored.update(self.terms[kind.name].checkpoint() if kind.name in self.terms else kind.CHECKPOINT_ABSENT)
        return stored

    @classmethod
    def from_checkpoint(cls, stored, fit, num_items, dim):
        """The scorer a checkpoint.pt dict records, the terms' tables rebuilt from `fit` (the model's
        training sequences); terms that add nothing are left out."""
        terms = [kind.from_checkpoint(stored, fit, num_items, dim) for kind in TERMS]
        return cls([t for t in terms if t is not None])

    @torch.no_grad()
    def score_all(self, x):
        """[B, num_items + 1]: forward()'s score of every item (column 0 = padding) for the rows of
        x = ranking.AllItems, the terms added in the same order."""
        scores = x.dot
        for term in self.terms.values():
            scores = term.add_all(scores, x)
        return scores
