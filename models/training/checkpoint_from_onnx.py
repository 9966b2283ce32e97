"""Rebuilds a model directory's checkpoint.pt from its exported files (foresight_training/sequence/
checkpoint_from_onnx.py).

  /usr/bin/python3 models/training/checkpoint_from_onnx.py --model models/beauty
"""
from foresight_training.sequence.checkpoint_from_onnx import main

if __name__ == "__main__":
    main()
