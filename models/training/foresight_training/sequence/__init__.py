"""The sequence model: encoder + content tower + candidate scorer, trained, exported to ONNX and
evaluated (models/README.md)."""
