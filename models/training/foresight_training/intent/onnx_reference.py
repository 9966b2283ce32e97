"""A small, strict numpy interpreter for the ONNX ops intent.onnx uses, following the operator
specs at the graph's opset (17). It exists because this machine has neither onnxruntime nor
onnx.reference (onnx 1.12): the parity check runs the exported graph itself, not PyTorch.
An op, attribute or input form it does not implement raises instead of guessing."""
import numpy as np
import onnx
from onnx import numpy_helper

NP_TYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
            onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32,
            onnx.TensorProto.BOOL: np.bool_}


def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return y + beta * c if c is not None else y


def _slice(data, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _clip(x, low=None, high=None):
    return np.clip(x, low if low is not None else -np.inf, high if high is not None else np.inf).astype(x.dtype)


def _reduce_mean(x, axes=None, keepdims=1):
    return np.mean(x, axis=None if axes is None else tuple(axes), keepdims=bool(keepdims)).astype(x.dtype)


def _squeeze(x, axes=None):
    return np.squeeze(x, axis=None if axes is None else tuple(int(a) for a in axes))


def _unsqueeze(x, axes):
    for a in sorted(int(a) % (x.ndim + len(axes)) for a in axes):
        x = np.expand_dims(x, a)
    return x


# op -> (function of inputs and attributes, attributes it accepts)
OPS = {
    "Add": (np.add, ()), "Sub": (np.subtract, ()), "Mul": (np.multiply, ()),
    "Div": (lambda a, b: (a / b).astype(a.dtype), ()),
    "Equal": (np.equal, ()), "Greater": (np.greater, ()),
    "Log": (np.log, ()), "Relu": (lambda x: np.maximum(x, 0).astype(x.dtype), ()),
    "Sigmoid": (lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype), ()),
    "Cast": (lambda x, to: x.astype(NP_TYPES[to]), ("to",)),
    "Clip": (_clip, ()),
    "Concat": (lambda *xs, axis: np.concatenate(xs, axis=axis), ("axis",)),
    "Gather": (lambda x, i, axis=0: np.take(x, i, axis=axis), ("axis",)),
    "Gemm": (_gemm, ("alpha", "beta", "transA", "transB")),
    "ReduceMean": (_reduce_mean, ("axes", "keepdims")),
    "Slice": (_slice, ()), "Squeeze": (_squeeze, ()), "Unsqueeze": (_unsqueeze, ()),
}


def run(model, feeds):
    """Evaluates the graph of `model` (an onnx.ModelProto) on feeds {input name: array};
    returns {output name: array}."""
    opsets = {o.domain: o.version for o in model.opset_import}
    if set(opsets) - {""} or opsets[""] != 17:
        raise ValueError(f"the interpreter implements ai.onnx opset 17 only, the graph imports {opsets}")
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(attrs["value"])
            continue
        if node.op_type not in OPS:
            raise NotImplementedError(f"op {node.op_type} (node {node.name})")
        fn, accepted = OPS[node.op_type]
        unknown = set(attrs) - set(accepted)
        if unknown:
            raise NotImplementedError(f"{node.op_type} attributes {sorted(unknown)} (node {node.name})")
        # an empty input name is an omitted optional input (e.g. Clip without max)
        inputs = [values[n] if n else None for n in node.input]
        while inputs and inputs[-1] is None:
            inputs.pop()
        outputs = fn(*inputs, **attrs)
        values[node.output[0]] = np.asarray(outputs)
        if len(node.output) != 1:
            raise NotImplementedError(f"{node.op_type} with {len(node.output)} outputs")
    return {o.name: values[o.name] for o in model.graph.output}
