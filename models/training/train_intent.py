"""Trains the session purchase-intent model and writes models/intent/ (`npm run train:intent`;
--help, and foresight_training/intent/train_intent.py).

  /usr/bin/python3 models/training/train_intent.py \
      --data ../shared/data/uci-shoppers/online_shoppers_intention.csv --out models/intent
"""
from foresight_training.intent.train_intent import main

if __name__ == "__main__":
    main()
