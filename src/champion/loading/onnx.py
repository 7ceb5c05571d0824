"""An ONNX graph run by onnxruntime behind scikit-learn's interface (`predict`, `predict_proba`,
`classes_`, `feature_names_in_`), so evaluation and LiveModel treat it as any estimator.

Inputs: a graph whose inputs are named after columns (skl2onnx with one input per column) gets
each column by name; a graph with one 2-D input gets the feature columns in the data's order.
Outputs: a classifier's label tensor and its probabilities, as a tensor or as skl2onnx's default
ZipMap (a list of {class: probability}); a regressor's single float tensor.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from champion.errors import ChampionError

INSTALL = "pip install 'champion[onnx]'"
_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
_FLOATS = ("tensor(float)", "tensor(double)", "tensor(float16)")
# Nodes that pass the label through unchanged, between the node that knows the classes and the
# graph's label output.
_PASS_THROUGH = {"Cast", "Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"}


class OnnxError(ChampionError):
    pass


def load(path: Path, source: str) -> OnnxModel:
    try:
        import onnxruntime
    except ImportError as e:
        raise OnnxError(
            f"{source} is an ONNX model: install onnxruntime to load it ({INSTALL})"
        ) from e
    session = _session(onnxruntime, str(path), source)
    outputs = session.get_outputs()
    labels = [o for o in outputs if o.type.startswith("tensor(") and o.type not in _FLOATS]
    scores = [o for o in outputs if o.type.startswith("seq(map(") or o.type in _FLOATS]
    if labels:
        graph = _graph(path, source)
        classes = _classes(graph, labels[0].name)
        if not scores:
            return OnnxModel(session, source, labels[0].name, classes=classes)
        probabilities, zipmap = scores[0].name, scores[0].type.startswith("seq(map(")
        if zipmap:
            unzipped = _without_zipmap(graph, probabilities)
            if unzipped is not None:
                session = _session(onnxruntime, unzipped[0], source)
                probabilities, zipmap = unzipped[1], False
        return OnnxClassifier(session, source, labels[0].name, probabilities, zipmap, classes)
    if len(scores) == 1 and scores[0].type in _FLOATS and _width(scores[0].shape) in (None, 1):
        return OnnxModel(session, source, scores[0].name)
    described = ", ".join(f"{o.name} {o.type} {o.shape}" for o in outputs)
    raise OnnxError(
        f"{source}: champion cannot tell which of its outputs ({described}) is the prediction: "
        "it reads a classifier's label tensor (plus probabilities) or a regressor's one float "
        "output; set a loader: 'module:function' that wraps the session"
    )


def _session(onnxruntime: Any, model: str | bytes, source: str) -> Any:
    try:
        return onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own types for a corrupt or unsupported graph
        raise OnnxError(
            f"{source} cannot be loaded as ONNX ({type(e).__name__}: {e}): is it an ONNX file "
            "that this onnxruntime supports?"
        ) from e


class OnnxModel:
    """A regressor (one float output), or a classifier whose graph gives labels only."""

    def __init__(
        self,
        session: Any,
        source: str,
        output: str,
        *,
        classes: list[Any] | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self._output = output
        self._inputs = session.get_inputs()
        if classes is not None:
            # Even when the graph does not say them: evaluation reads a label-only model's
            # predictions as raw labels, and `classes_` marks it a classifier.
            self.classes_ = np.asarray(classes)
        if len(self._inputs) > 1:
            # One input per column: evaluation then selects exactly those columns, by name.
            self.feature_names_in_ = np.asarray([i.name for i in self._inputs], dtype=object)
            self.n_features_in_ = len(self._inputs)
        else:
            width = _width(self._inputs[0].shape)
            if width is not None:
                self.n_features_in_ = width

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source})"

    def predict(self, x: Any) -> Any:
        out = self._run(self._output, x)
        out = np.asarray(out)
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def _run(self, output: str, x: Any) -> Any:
        feeds = self._feeds(x)
        try:
            return self.session.run([output], feeds)[0]
        except Exception as e:  # onnxruntime's own exception types
            raise OnnxError(f"{self.source} failed to predict ({type(e).__name__}: {e})") from e

    def _feeds(self, x: Any) -> dict[str, Any]:
        columns = getattr(x, "columns", None)
        names = [i.name for i in self._inputs]
        by_name = columns is not None and (
            len(names) > 1 or (names[0] in columns and _width(self._inputs[0].shape) == 1)
        )
        if by_name:
            assert columns is not None
            missing = [n for n in names if n not in columns]
            if missing and len(names) > 1:
                raise OnnxError(
                    f"{self.source} takes one input per column ({', '.join(names[:20])}); the "
                    f"data lacks {', '.join(missing[:20])}"
                )
            if not missing:
                return {i.name: _column(x[i.name].to_numpy(), i) for i in self._inputs}
        matrix = x.to_numpy() if columns is not None else np.asarray(x)
        if matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        if len(names) > 1:  # a plain matrix: its columns in the inputs' order
            self._check_count(matrix.shape[1], len(names))
            return {i.name: _column(matrix[:, k], i) for k, i in enumerate(self._inputs)}
        single = self._inputs[0]
        width = _width(single.shape)
        if width is not None:
            self._check_count(matrix.shape[1], width)
        return {single.name: _typed(matrix, single)}

    def _check_count(self, got: int, expected: int) -> None:
        if got != expected:
            raise OnnxError(
                f"{self.source} takes {expected} features, but was given {got} feature columns: "
                "the data's feature columns (every column but the target, weight and slices, in "
                "file order) must match the graph's input"
            )


class OnnxClassifier(OnnxModel):
    """A classifier with probabilities: a tensor (n, k), or a ZipMap list of {class: p}."""

    def __init__(
        self,
        session: Any,
        source: str,
        label: str,
        scores: str,
        zipmap: bool,
        classes: list[Any] | None,
    ) -> None:
        if classes is None:
            raise OnnxError(
                f"{source}: champion cannot read the class labels from the graph (no ZipMap, no "
                "classifier node with classlabels, no class array before its label output), so "
                "it cannot tell which probability is which class: export it with skl2onnx's "
                "ZipMap, or set a loader: 'module:function'"
            )
        super().__init__(session, source, label, classes=classes)
        self._scores = scores
        self._zipmap = zipmap

    def predict_proba(self, x: Any) -> Any:
        out = self._run(self._scores, x)
        if not self._zipmap:
            return np.asarray(out, dtype=np.float64)
        if not out:
            return np.zeros((0, len(self.classes_)), dtype=np.float64)
        keys = list(out[0])
        if [str(k) for k in keys] != [str(c) for c in self.classes_]:
            raise OnnxError(
                f"{self.source}: its ZipMap's classes ({', '.join(map(str, keys))}) are not the "
                f"graph's class labels ({', '.join(map(str, self.classes_))})"
            )
        values = itertools.chain.from_iterable(row.values() for row in out)
        proba = np.fromiter(values, dtype=np.float64, count=len(out) * len(keys))
        return proba.reshape(len(out), len(keys))


def _width(shape: Any) -> int | None:
    """The second dimension of a 2-D input or output when the graph fixes it."""
    if isinstance(shape, list) and len(shape) == 2 and isinstance(shape[1], int):
        return shape[1]
    return None


def _typed(values: Any, node: Any) -> Any:
    dtype = _DTYPES.get(node.type)
    if dtype is None:
        raise OnnxError(f"input {node.name!r} has type {node.type}, which champion cannot feed")
    if dtype is np.object_:
        return np.asarray(values).astype(str).astype(object)
    return np.asarray(values).astype(dtype, copy=False)


def _column(values: Any, node: Any) -> Any:
    typed = _typed(values, node)
    shape = node.shape
    return typed.reshape(-1, 1) if isinstance(shape, list) and len(shape) == 2 else typed


def _graph(path: Path, source: str) -> Any:
    try:
        import onnx
    except ImportError as e:
        raise OnnxError(
            f"{source} is an ONNX classifier: install onnx to read its class labels ({INSTALL})"
        ) from e
    return onnx.load(str(path), load_external_data=False)


def _without_zipmap(model: Any, output: str) -> tuple[bytes, str] | None:
    """The graph without its ZipMap, the tensor the ZipMap read exposed as an output instead, and
    that output's name: a list of dicts costs 16 times the prediction itself (bench/artifacts.py).
    None when the graph keeps weights in external files (a graph made from bytes could not find
    them) or has no such ZipMap."""
    from onnx import TensorProto, helper

    if any(t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer):
        return None
    zipmaps = [n for n in model.graph.node if n.op_type == "ZipMap" and output in n.output]
    if len(zipmaps) != 1:
        return None
    tensor = zipmaps[0].input[0]
    copy = type(model)()
    copy.CopyFrom(model)
    # Removed, not just bypassed: onnxruntime builds the ZipMap's dicts even when its output is
    # not asked for.
    copy.graph.node.remove(next(n for n in copy.graph.node if n.op_type == "ZipMap"))
    kept = [o for o in copy.graph.output if o.name != output]
    del copy.graph.output[:]
    copy.graph.output.extend(kept)
    copy.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    return copy.SerializeToString(), tensor


def _classes(model: Any, label_output: str) -> list[Any] | None:
    """The class labels, in the order of the probability columns, read from the graph: a ZipMap
    node, a classifier node (LinearClassifier, TreeEnsembleClassifier, SVMClassifier, ...) that
    makes the label, or the class array an ArrayFeatureExtractor picks the label from."""
    from onnx import numpy_helper

    graph = model.graph
    for node in graph.node:
        if node.op_type == "ZipMap":
            found = _labels_attribute(node)
            if found is not None:
                return found
    producers = {out: node for node in graph.node for out in node.output}
    constants = {t.name: t for t in graph.initializer}
    name = label_output
    for _ in range(len(graph.node)):
        node = producers.get(name)
        if node is None:
            return None
        found = _labels_attribute(node)
        if found is not None:
            return found
        if node.op_type == "ArrayFeatureExtractor" and node.input[0] in constants:
            values = numpy_helper.to_array(constants[node.input[0]]).ravel().tolist()
            return [v.decode() if isinstance(v, bytes) else v for v in values]
        if node.op_type not in _PASS_THROUGH:
            return None
        name = node.input[0]
    return None


def _labels_attribute(node: Any) -> list[Any] | None:
    for attribute in node.attribute:
        if attribute.name in ("classlabels_int64s", "classlabels_ints") and attribute.ints:
            return list(attribute.ints)
        if attribute.name == "classlabels_strings" and attribute.strings:
            return [s.decode() for s in attribute.strings]
    return None
