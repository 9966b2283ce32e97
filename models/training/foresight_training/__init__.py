"""Foresight's training side (models/README.md is the contract with the gateway).

  sequence/        the sequence model: data, encoder, content tower, scorer, training, export,
                   evaluation, model card
  sequence/terms/  the scorer's terms (category, Markov, co-occurrence) and their tables
  intent/          the session purchase-intent model (UCI Online Shoppers)
  manifest.py      model.json against models/manifest.schema.json
  paths.py         where models/ and the notes are

The scripts one level up (train.py, evaluate.py, train_intent.py, ...) are the commands people run;
each calls a main() here.
"""
