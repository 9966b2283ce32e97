"""The session purchase-intent model (models/intent/README.md): UCI sessions -> MLP ensemble ->
intent.onnx."""
