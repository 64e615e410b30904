"""Lean inference: a fitted neural forecaster's network exported to ONNX and run by
onnxruntime, with float32 weights or int8 ones (dynamic quantization of the inner matrix
products).

The exported file holds the network, inputs ``x`` and ``x_mask`` ``[B, L, N, F]``, ``x_time``
``[B, L, 2]`` and ``y_time`` ``[B, H, 2]`` (int64 slot of day and weekday), as
``WindowTensors.inputs`` builds them, and one output ``forecast`` ``[B, H, N]`` in scaled
units, any batch size. Its metadata holds what the
checkpoint holds besides the weights: the model's name and parameters, the data schema, the
scaler and the training summary. ``load_onnx`` rebuilds the forecaster around an onnxruntime
session, so ``predict`` and ``predict_windows`` work as on the checkpoint, with the same
schema checks; the exported graph returns the forecast only, so forecasts made from it carry
no attention maps.

The graph is traced by ``torch.export`` (the exporter PyTorch maintains), evaluated in
inference mode (no dropout). ``export_onnx`` checks the file it wrote: onnxruntime must
reproduce the PyTorch network on a sample of windows within ``tolerance`` (float32), or the
export is refused; for int8 the change is the quantization's and is measured, not refused
(``benchmarks/lean_inference.py`` reports it against test RMSE).
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from cityfocus.errors import CityfocusError, DataError
from cityfocus.models.neural import NeuralForecaster
from cityfocus.outputs import atomic_file

if TYPE_CHECKING:
    from collections.abc import Iterator

    import onnxruntime

EXPORT_FORMAT = "cityfocus-onnx-1"
INPUTS = ("x", "x_mask", "x_time", "y_time")
OUTPUT = "forecast"
METADATA_KEY = "cityfocus"
TOLERANCE = 1e-4  # largest |ONNX - PyTorch| accepted for a float32 export, in scaled units


def export_onnx(model: NeuralForecaster, path: str | Path, *, int8: bool = False,
                tolerance: float = TOLERANCE) -> Path:
    """Write ``model``'s network to ``path`` as ONNX (``int8``: weights quantized to int8).

    Raises ``CityfocusError`` when the model is not a fitted forecaster or onnxruntime does
    not reproduce the float32 graph within ``tolerance``."""
    onnx, _ = _onnx_packages()
    model._check_forecaster()
    if isinstance(model.network_, OnnxNetwork):
        raise CityfocusError(f"{model.name} is already an exported network: export the checkpoint")
    network = _Inputs(model.network_).cpu().eval()
    sample = _sample_inputs(model)
    args = tuple(sample[name] for name in INPUTS)
    batch = torch.export.Dim("batch")
    with _quiet():
        program = torch.onnx.export(network, args, input_names=list(INPUTS),
                                    output_names=[OUTPUT], dynamo=True, verbose=False,
                                    dynamic_shapes={name: {0: batch} for name in INPUTS})
    if program is None:  # pragma: no cover - the dynamo exporter always returns its program
        raise CityfocusError("the ONNX exporter returned no program")
    graph = program.model_proto
    with torch.no_grad():
        expected = network(*args).numpy()
    found = _session(graph.SerializeToString()).run([OUTPUT], _feed(sample))[0]
    gap = float(np.max(np.abs(found - expected)))
    if not gap <= tolerance:
        raise CityfocusError(f"onnxruntime differs from PyTorch by {gap:.2g} on the exported "
                             f"network (at most {tolerance:g} allowed): not written")
    if int8:
        graph = _quantized(graph)
    meta = _metadata(model, int8)
    del graph.metadata_props[:]
    entry = graph.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    return atomic_file(path).write(lambda tmp: onnx.save_model(graph, str(tmp)))


def load_onnx(path: str | Path, threads: int | None = None) -> NeuralForecaster:
    """The forecaster of an exported file, running on onnxruntime's CPU provider with
    ``threads`` intra-op threads (default: PyTorch's thread count)."""
    onnx, _ = _onnx_packages()
    path = Path(path)
    if not path.is_file():
        raise DataError("exported model not found", source=path)
    try:
        graph = onnx.load_model(str(path))
    except Exception as err:  # a foreign or corrupt file: one line
        raise DataError(f"not a readable ONNX file ({type(err).__name__})", source=path) from None
    meta = {entry.key: entry.value for entry in graph.metadata_props}.get(METADATA_KEY)
    try:
        state = json.loads(meta) if meta is not None else None
    except ValueError:
        state = None
    if not isinstance(state, dict) or state.get("format") != EXPORT_FORMAT:
        raise DataError("not a cityfocus export (write one with `cityfocus export`)",
                        source=path)
    from cityfocus.models.registry import NEURAL

    if state["model"] not in NEURAL:
        raise DataError(f"export of unknown model {state['model']!r}", source=path)
    model = NEURAL[state["model"]].described(state, device="cpu")
    model.network_ = OnnxNetwork(_session(graph.SerializeToString(), threads),
                                 bool(state["int8"]))
    return model


class OnnxNetwork(torch.nn.Module):
    """An onnxruntime session in the place of a forecaster's network: the same inputs, the
    forecast as a CPU tensor, no attention maps."""

    def __init__(self, session: onnxruntime.InferenceSession, int8: bool) -> None:
        super().__init__()
        self.session, self.int8 = session, int8

    def forward(self, inputs: dict[str, torch.Tensor], return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, None]:
        feed = {name: inputs[name].detach().cpu().numpy() for name in INPUTS}
        out = torch.from_numpy(self.session.run([OUTPUT], feed)[0])
        return (out, None) if return_attention else out


class _Inputs(torch.nn.Module):
    """The network with its input dictionary spread into positional tensors (what the
    exporter traces)."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, x_time: torch.Tensor,
                y_time: torch.Tensor) -> torch.Tensor:
        out = self.network({"x": x, "x_mask": x_mask, "x_time": x_time, "y_time": y_time})
        return out[0] if isinstance(out, tuple) else out


def _sample_inputs(model: NeuralForecaster, batch: int = 4) -> dict[str, torch.Tensor]:
    """Reproducible inputs of the model's shapes: readings around the scaled mean, about a
    tenth missing, and real (slot, weekday) pairs of its time encoding."""
    schema = model.schema_
    lookback, horizon = model.lookback, model.horizon
    n, f, slots = schema["n_zones"], schema["n_features"], schema["slots_per_day"]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, lookback, n, f, generator=gen)
    mask = (torch.rand(batch, lookback, n, f, generator=gen) > 0.1).float()
    steps = torch.arange(lookback + horizon)[None] + torch.arange(batch)[:, None] * 7
    time = torch.stack([steps % slots, (steps // slots) % 7], -1)  # int64, as time_features
    return {"x": x * mask, "x_mask": mask, "x_time": time[:, :lookback],
            "y_time": time[:, lookback:]}


def _feed(inputs: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: inputs[name].numpy() for name in INPUTS}


def _metadata(model: NeuralForecaster, int8: bool) -> dict[str, Any]:
    """The checkpoint's description of ``model``, as JSON (parameters that are not JSON, such
    as a log folder's path, as their text)."""
    return {"format": EXPORT_FORMAT, "int8": int8,
            **json.loads(json.dumps(model.description(), default=str))}


def _quantized(graph: Any) -> Any:
    """``graph`` with the weights of its inner matrix products stored as int8 (activations
    quantized on the fly: onnxruntime's dynamic quantization). The outermost products stay
    float32 (``_outer_products``): those reading the inputs see raw readings, and those
    writing the output carry the forecast itself (the ST-Transformer's linear part, whose
    near-identity weights lost a tenth of the Los-loop RMSE to int8)."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        onnx.save_model(graph, str(source))
        with _quiet():
            quantize_dynamic(source, target, weight_type=QuantType.QInt8,
                             nodes_to_exclude=sorted(_outer_products(graph)))
        return onnx.load_model(str(target))


def _outer_products(graph: Any) -> set[str]:
    """Names of the matrix products (MatMul, Gemm) with no other product between them and a
    graph input, or between them and a graph output."""
    nodes = list(graph.graph.node)
    products = {n.name for n in nodes if n.op_type in ("MatMul", "Gemm")}

    def reached(start: set[str], forward: bool) -> set[str]:
        """Products reached from the tensors ``start`` through no other product."""
        found: set[str] = set()
        tensors, frontier = set(start), True
        while frontier:
            frontier = False
            for node in nodes:
                ins, outs = (node.input, node.output) if forward else (node.output, node.input)
                if node.name in found or not tensors.intersection(ins):
                    continue
                if node.name in products:
                    found.add(node.name)
                elif not tensors.issuperset(outs):
                    tensors.update(outs)
                    frontier = True
        return found

    inputs = {i.name for i in graph.graph.input}
    outputs = {o.name for o in graph.graph.output}
    return reached(inputs, True) | reached(outputs, False)


def _session(graph: bytes, threads: int | None = None) -> onnxruntime.InferenceSession:
    _, ort = _onnx_packages()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _onnx_packages() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise CityfocusError("ONNX export needs the onnx extra: pip install -e '.[onnx]'"
                             ) from None
    return onnx, onnxruntime


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's and quantizer's notes (progress lines, optional torchvision operators,
    deprecations of their own internals) are not the user's business."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "root")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
