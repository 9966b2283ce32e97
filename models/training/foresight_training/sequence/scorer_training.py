"""Fits the scorer's terms after the encoder: each term of TERMS in order (Term.fit), on the validation
pairs and the training positions, against the scorer of the terms fitted before it and of those
trained with the encoder."""
import torch
import torch.nn.functional as F

from .data import encoder_inputs, left_pad
from .metrics import summarize
from .ranking import all_items, encode_pairs, rank_encoded
from .scorer import Scorer
from .terms import TERMS


class Positions:
    """The encoder's states (eval mode) at every position of the training sequences that has a next
    item, and those next items: what the content tower and the Markov refine are fitted on."""

    def __init__(self, enc, train_seqs, batch=1024):
        seqs = sorted((s[-(enc.max_len + 1):] for s in train_seqs if len(s) >= 2), key=len)
        states, targets, self._inputs = [], [], []
        with torch.no_grad():
            for b in range(0, len(seqs), batch):
                chunk = seqs[b:b + batch]
                width = len(chunk[-1]) - 1
                x, ev, gaps = encoder_inputs([s[:-1] for s in chunk], width)
                y = torch.from_numpy(left_pad([s[1:] for s in chunk], width))
                h, _ = enc.hidden(x, ev, gaps)
                states.append(h[y > 0])
                targets.append(y[y > 0])
                self._inputs.append((x, y > 0))
        self.user_states, self.targets = torch.cat(states), torch.cat(targets)

    def history(self, k):
        """[P, k]: the k newest input items at each position, newest first (0 where there are fewer)."""
        return torch.cat([torch.stack([F.pad(x, (j, 0))[:, :x.shape[1]][m] for j in range(k)], 1)
                          for x, m in self._inputs])


class Fitting:
    """What a term's fit reads: args, the training sequences and positions, the validation pairs
    encoded once, and the validation ranking by a scorer of given terms."""

    def __init__(self, enc, train_seqs, valid, args, log=print):
        self.enc, self.train_seqs, self.valid, self.args, self.log = enc, train_seqs, valid, args, log
        self.num_items = enc.num_items
        self.U, self.P = encode_pairs(enc, valid)
        self.V = enc.item_vectors().detach()
        self.positions = Positions(enc, train_seqs)
        # model.json metrics.validNDCG@10 is encoder training's best unless a fit measured the scorer
        # it left (valid_ndcg) or had train.py measure the final scorer (remeasure; --exclude-history
        # always does). The category weight's choice does neither, as it never has.
        self.valid_ndcg = None
        self.remeasure = False

    def ndcg(self, terms):
        """Validation NDCG@10 of the scorer of `terms` (all input items ranked too)."""
        ranks = rank_encoded(self.U, self.P, self.V, self.valid, Scorer(terms), self.enc.item_attrs)
        return summarize(ranks)["NDCG@10"]

    def scores(self, terms, start, end):
        """[end - start, num_items + 1]: the scorer of `terms` over all items for valid[start:end]."""
        scorer = Scorer(terms)
        pairs = self.valid[start:end]
        return scorer.score_all(all_items(self.U[start:end], self.P[start:end], self.V, self.enc.item_attrs, pairs,
                                          scorer.history))


def fit_scorer(fitting, encoder_terms):
    """The scorer: encoder_terms (Term.with_encoder's, as trained) refitted or replaced by each term's
    fit, in TERMS order."""
    terms = {t.name: t for t in encoder_terms}
    for kind in TERMS:
        term = kind.fit(fitting, dict(terms))
        if term is None:
            terms.pop(kind.name, None)
        else:
            terms[kind.name] = term
    return Scorer(terms.values())


def refit_scorer(fitting, encoder_terms, chosen):
    """The scorer of the refit on every event: each term's refit (Term.refit) with the choices of the
    evaluated fit's scorer `chosen` kept, in TERMS order."""
    terms = {t.name: t for t in encoder_terms}
    for kind in TERMS:
        term = kind.refit(fitting, dict(terms), chosen.terms[kind.name] if kind.name in chosen.terms else None)
        if term is None:
            terms.pop(kind.name, None)
        else:
            terms[kind.name] = term
    return Scorer(terms.values())


def fit_scorer_reusing(fitting, encoder_terms, reuse):
    """fit_scorer with the terms in `reuse` {name: term} taken as they are instead of fitted again."""
    terms = {t.name: t for t in encoder_terms}
    for kind in TERMS:
        term = reuse[kind.name] if kind.name in reuse else kind.fit(fitting, dict(terms))
        if term is None:
            terms.pop(kind.name, None)
        else:
            terms[kind.name] = term
    return Scorer(terms.values())
