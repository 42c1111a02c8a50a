"""Chain validation and the runtime plan of a stream (client contract §8.8, §8.9).

``compile_chain`` sorts the operators into the stages the runner executes: the pre-reducer
``map``/``filter``/``flat_map`` operators, ``key_by``, one window, one reducer or one gate,
the post-reducer operators and the sink. It raises ``QueenValidationError`` (a
``ValueError``) with the exact texts of the reference SDKs for a chain they would refuse.
"""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional

from .._errors import QueenValidationError
from .util.config_hash import config_hash_of

__all__ = ["CompiledStream", "Stages", "compile_chain"]

_STATELESS = ("map", "filter", "flatMap")


class Stages(NamedTuple):
    pre: List[Any]
    key_by: Optional[Any]
    window: Optional[Any]
    reducer: Optional[Any]
    gate: Optional[Any]
    post: List[Any]
    sink: Optional[Any]


class CompiledStream(NamedTuple):
    source: Any
    source_options: dict
    stages: Stages
    operators: List[Any]
    config_hash: str


def _sink_position(operators: List[Any]) -> int:
    for i, op in enumerate(operators):
        if op.kind in ("sink", "foreach"):
            if i != len(operators) - 1:
                raise QueenValidationError(
                    "sink operators (.to / .foreach) must be the last in the chain; "
                    f"found {op.kind} at position {i} of {len(operators)}"
                )
            return i
    return len(operators)


def compile_chain(source: Any, operators: List[Any], source_options: dict) -> CompiledStream:
    """Validate ``operators`` and return the runner's plan with the chain's config hash."""
    end = _sink_position(operators)
    pre: List[Any] = []
    post: List[Any] = []
    key_by = window = reducer = gate = None
    phase = "pre"
    for op in operators[:end]:
        kind = op.kind
        if kind in _STATELESS:
            (pre if phase in ("pre", "keyed", "window") else post).append(op)
        elif kind == "keyBy":
            if key_by is not None:
                raise QueenValidationError("only one .key_by() per stream")
            if phase in ("reducer", "gate"):
                raise QueenValidationError(".key_by() must come before window/reduce/gate")
            key_by = op
            if phase == "pre":
                phase = "keyed"
        elif kind == "window":
            if window is not None:
                raise QueenValidationError("only one window operator per stream")
            if phase == "reducer":
                raise QueenValidationError("window must come before reduce/aggregate")
            if gate is not None:
                raise QueenValidationError(
                    "window+reduce is incompatible with .gate() in the same stream")
            window = op
            phase = "window"
        elif kind in ("reduce", "aggregate"):
            if reducer is not None:
                raise QueenValidationError("only one reduce/aggregate per stream")
            if window is None:
                raise QueenValidationError("reduce/aggregate requires a preceding window operator")
            if gate is not None:
                raise QueenValidationError(
                    "reduce/aggregate is incompatible with .gate() in the same stream")
            reducer = op
            phase = "reducer"
        elif kind == "gate":
            if gate is not None:
                raise QueenValidationError("only one .gate() per stream")
            if window is not None or reducer is not None:
                raise QueenValidationError(
                    ".gate() is incompatible with windowing/reduce in the same stream")
            gate = op
            phase = "gate"
        else:
            raise QueenValidationError(f"unsupported operator: {kind}")
    sink = operators[end] if end < len(operators) else None
    stages = Stages(pre, key_by, window, reducer, gate, post, sink)
    return CompiledStream(source, source_options, stages, list(operators),
                          config_hash_of(operators))
