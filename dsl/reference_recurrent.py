"""The numpy reference's recurrent layers: simple RNN, LSTM and GRU cells in Keras' gate
order and bias layout, run over a sequence, and their bidirectional wrapper."""

from __future__ import annotations

import numpy as np

from nndsl import ir
from nndsl.reference_activations import activate, sigmoid

Array = np.ndarray
Params = dict[str, Array]

State = tuple[Array, Array]  # (h, c); the simple RNN and the GRU carry h twice


def _simple_rnn_step(op: ir.SimpleRnn, p: Params, x: Array, state: State) -> State:
    h, _ = state
    h = activate(op.activation, x @ p["kernel"] + h @ p["recurrent_kernel"] + p["bias"])
    return h, h


def _lstm_step(op: ir.Lstm, p: Params, x: Array, state: State) -> State:
    h, c = state
    i, f, g, o = np.split(x @ p["kernel"] + h @ p["recurrent_kernel"] + p["bias"], 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def _gru_step(op: ir.Gru, p: Params, x: Array, state: State) -> State:
    h, _ = state
    x_z, x_r, x_h = np.split(x @ p["kernel"] + p["bias"][0], 3, axis=-1)
    h_z, h_r, h_h = np.split(h @ p["recurrent_kernel"] + p["bias"][1], 3, axis=-1)
    z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
    candidate = np.tanh(x_h + r * h_h)
    h = z * h + (1.0 - z) * candidate
    return h, h


STEPS = {"simple_rnn": _simple_rnn_step, "lstm": _lstm_step, "gru": _gru_step}


def sequence(op: ir._Recurrent, params: Params, x: Array) -> Array:
    """h_1 .. h_T (batch, T, units) of a recurrent layer run from a zero state."""
    p = dict(params)
    if "bias" not in p:
        gates = op.gates * op.units
        p["bias"] = np.zeros((2, gates) if op.kind == "gru" else (gates,))
    h = np.zeros((x.shape[0], op.units))
    state, outputs = (h, h), []
    for t in range(x.shape[1]):
        state = STEPS[op.kind](op, p, x[:, t], state)
        outputs.append(state[0])
    return np.stack(outputs, axis=1)


def recurrent(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """simple_rnn/lstm/gru: every h_t with return_sequences, else the last."""
    outputs = sequence(node.op, params, x)
    return outputs if node.op.return_sequences else outputs[:, -1]


def bidirectional(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """The layer forward and over the reversed sequence, the backward steps re-reversed."""
    layer = node.op.layer

    def part(prefix: str) -> Params:
        return {k.removeprefix(prefix): v for k, v in params.items() if k.startswith(prefix)}

    forward = sequence(layer, part("forward_"), x)
    backward = sequence(layer, part("backward_"), x[:, ::-1])[:, ::-1]
    if not layer.return_sequences:
        forward, backward = forward[:, -1], backward[:, 0]
    match node.op.merge:
        case "concat":
            return np.concatenate([forward, backward], axis=-1)
        case "sum":
            return forward + backward
        case "mul":
            return forward * backward
        case "ave":
            return (forward + backward) / 2.0
    raise ValueError(f"unknown merge {node.op.merge}")
