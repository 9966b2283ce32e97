"""Renders models/MODEL_CARD.md, or an events-format model's card (foresight_training/sequence/
model_card.py).

  /usr/bin/python3 models/training/model_card.py [--model models/beauty]
  /usr/bin/python3 models/training/model_card.py --events-model models/diginetica [--ablation DIR] [--notes F]
"""
from foresight_training.sequence.model_card import main

if __name__ == "__main__":
    main()
