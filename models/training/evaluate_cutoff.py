"""Compares model directories on the cut-off protocol's test targets (foresight_training/sequence/
evaluate_cutoff.py; --help)."""
from foresight_training.sequence.evaluate_cutoff import main

if __name__ == "__main__":
    main()
