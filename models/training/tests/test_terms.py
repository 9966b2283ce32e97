"""The scorer's terms (sequence/terms/): their registry fixes the order of the scorer's inputs, their
flags are refused in bad combinations before anything is read, and each term adds to the exported
forward() exactly what it adds to add_all(), the ranking over all items that validation, weight
selection and the recorded metrics use."""
import os

import pytest
import torch

from foresight_training.contract import (SCORER, SCORER_COOCCURRENCE_INPUTS, SCORER_MARKOV_INPUTS,
                                         SCORER_MARKOV_ITEMS_INPUTS)
from foresight_training.paths import ROOT
from foresight_training.sequence import train_flags
from foresight_training.sequence.data import left_pad
from foresight_training.sequence.ranking import all_items
from foresight_training.sequence.scorer import Scorer
from foresight_training.sequence.terms import TERMS, CategoryTerm, CooccurrenceTerm, MarkovTerm
from foresight_training.sequence.terms.cooccurrence_table import Cooccurrence
from foresight_training.sequence.terms.markov_refine import MarkovRefine
from foresight_training.sequence.terms.transitions import Transitions

SEQS = [[1, 2, 3, 4, 5], [2, 3, 1, 6], [4, 5, 6, 7, 8], [8, 1, 2, 3], [3, 4, 9, 10, 2], [6, 7, 8, 9], [5]]
NUM_ITEMS, NUM_ATTRS, DIM = 10, 5, 8


def test_the_registry_orders_category_markov_cooccurrence():
    assert [t.name for t in TERMS] == ["category", "markov", "cooccurrence"]


def test_the_scorer_sorts_its_terms_and_their_inputs_into_registry_order():
    scorer = Scorer([CooccurrenceTerm(2.0, 3, 0.8), MarkovTerm([1.0, 0.5], MarkovRefine(DIM, 2)), CategoryTerm(0.1)])
    assert list(scorer.terms) == ["category", "markov", "cooccurrence"]
    assert scorer.inputs == [*SCORER.inputs, *SCORER_MARKOV_ITEMS_INPUTS, *SCORER_COOCCURRENCE_INPUTS]
    assert Scorer([MarkovTerm([1.0, 0.5])]).inputs == [*SCORER.inputs, *SCORER_MARKOV_INPUTS]
    assert Scorer([CategoryTerm(0.0)]).inputs == list(SCORER.inputs)


@pytest.mark.parametrize("flags, message", [
    (["--markov-refine"], "--markov-refine needs --markov"),
    (["--markov", "--markov-items", "0"], "--markov-items must be at least 1, not 0"),
    (["--markov", "--markov-refine", "--cooccurrence"], "--cooccurrence needs --markov-refine --markov-items K > 1"),
    (["--markov", "--negatives", "100"], "--markov needs the full softmax (--negatives 0)"),
])
def test_bad_term_flags_are_refused_before_training(flags, message, tmp_path, capsys):
    data = ["--data", os.path.join(ROOT, "data", "amazon", "Beauty.txt"),
            "--attributes", os.path.join(ROOT, "data", "amazon", "Beauty_item2attributes.json")]
    with pytest.raises(SystemExit) as exit_:
        train_flags.parse_args([*data, "--out", str(tmp_path), *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def _scorer(markov_items, refined, cooccurrence):
    terms = [CategoryTerm(0.2)]
    refine = MarkovRefine(DIM, markov_items) if refined else None
    if refine is not None:  # away from its zero start, so that every part of it counts
        for p in refine.parameters():
            p.data.normal_(0.0, 0.3)
    terms.append(MarkovTerm([0.7, 1.3], refine, Transitions(SEQS, NUM_ITEMS)))
    if cooccurrence:
        terms.append(CooccurrenceTerm(1.5, 3, 0.8, Cooccurrence(SEQS, NUM_ITEMS, 4, 3, 0.125)))
    return Scorer(terms).eval()


@pytest.mark.parametrize("markov_items, refined, cooccurrence", [(1, False, False), (1, True, False), (2, True, True)])
def test_forward_over_every_item_adds_what_score_all_adds(markov_items, refined, cooccurrence):
    torch.manual_seed(7)
    scorer = _scorer(markov_items, refined, cooccurrence)
    pairs = [(s[:-1], s[-1]) for s in SEQS if len(s) > 1]
    U = torch.randn(len(pairs), DIM)
    P = torch.softmax(torch.randn(len(pairs), NUM_ATTRS + 1), -1)
    V = torch.randn(NUM_ITEMS + 1, DIM)
    V[0] = 0.0
    item_attrs = torch.randint(0, NUM_ATTRS + 1, (NUM_ITEMS + 1, 2))
    item_attrs[0] = 0
    expected = scorer.score_all(all_items(U, P, V, item_attrs, pairs, scorer.history))[:, 1:]

    # the gateway's view: every item a candidate, each term's inputs as export's fixture builds them
    ids = torch.from_numpy(left_pad([p[0] for p in pairs], 6))
    candidates = torch.arange(1, NUM_ITEMS + 1).repeat(len(pairs), 1)
    inputs = [x for t in scorer.terms.values() for x in t.parity_inputs(ids, candidates)]
    with torch.no_grad():
        served = scorer(U, P, V[candidates], item_attrs[candidates], *inputs)
    assert served.shape == expected.shape
    assert torch.allclose(served, expected, atol=1e-5)
    # and the terms do add something: the scores are not the inner product alone
    assert not torch.allclose(served, U @ V[1:].T, atol=1e-3)
