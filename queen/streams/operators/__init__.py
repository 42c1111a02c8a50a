"""The operator classes behind the :class:`~queen.streams.Stream` methods.

Applications use the ``Stream`` methods (``.map``, ``.window_tumbling``, ``.aggregate``...);
the classes are importable here for code that inspects a chain or builds one by hand.
"""

from .aggregate_op import RESERVED_AGGREGATE_FIELDS, AggregateOperator
from .filter_op import FilterOperator
from .flat_map_op import FlatMapOperator
from .foreach_op import ForeachOperator
from .gate_op import GateOperator
from .key_by_op import KeyByOperator
from .map_op import MapOperator
from .reduce_op import ReduceOperator, parse_state_key, state_key_for
from .sink_op import SinkOperator
from .window_cron import WindowCronOperator
from .window_session import WindowSessionOperator
from .window_sliding import WindowSlidingOperator
from .window_tumbling import WindowTumblingOperator

__all__ = [
    "RESERVED_AGGREGATE_FIELDS",
    "AggregateOperator",
    "FilterOperator",
    "FlatMapOperator",
    "ForeachOperator",
    "GateOperator",
    "KeyByOperator",
    "MapOperator",
    "ReduceOperator",
    "SinkOperator",
    "WindowCronOperator",
    "WindowSessionOperator",
    "WindowSlidingOperator",
    "WindowTumblingOperator",
    "parse_state_key",
    "state_key_for",
]
