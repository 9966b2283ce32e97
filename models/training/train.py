"""Trains the Foresight sequence model and writes a model directory (`npm run train`; --help, and
foresight_training/sequence/train.py).

  /usr/bin/python3 models/training/train.py --data data/amazon/Beauty.txt \
      --attributes data/amazon/Beauty_item2attributes.json --out models/beauty
"""
from foresight_training.sequence.train import main

if __name__ == "__main__":
    main()
