"""Evaluates a trained model directory and the baselines on one split and records the numbers in
models/metrics.json (`npm run evaluate`; --help, and foresight_training/sequence/evaluate.py).

  /usr/bin/python3 models/training/evaluate.py --data data/amazon/Beauty.txt \
      --attributes data/amazon/Beauty_item2attributes.json --model models/beauty
"""
from foresight_training.sequence.evaluate import main

if __name__ == "__main__":
    main()
