"""The scorer's terms, one module each: score = <user_state, candidate> + the sum of the terms'
contributions (models/README.md scorer.onnx; the interface, from flags to export, is terms/term.py).
TERMS fixes their order: of scorer.onnx's inputs, of the sum, of their fitting after the encoder and
of model.json's scorer keys. A new term is a module here plus its place in TERMS (and, for the
gateway, its part of src/inference/manifest.ts and a module in src/forecast/terms/)."""
from .category import CategoryTerm
from .cooccurrence import CooccurrenceTerm
from .markov import MarkovTerm

TERMS = (CategoryTerm, MarkovTerm, CooccurrenceTerm)

__all__ = ["TERMS", "CategoryTerm", "CooccurrenceTerm", "MarkovTerm"]
