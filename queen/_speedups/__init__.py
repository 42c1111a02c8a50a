"""Hot components of queen-turbo, each a compiled module beside a pure-Python twin.

=================  =============================  =================================
component          compiled                       pure (documented, type-checked)
=================  =============================  =================================
``ring``           ``_ring_c.pyx``                ``_ring_py.py``
``codec``          ``_codec_c.pyx``               ``_codec_py.py``
``batch``          ``_batch_c.pyx``               ``_batch_py.py``
``acks``           ``_acks_c.pyx``                ``_acks_py.py``
=================  =============================  =================================

Twins export the same names with the same signatures and semantics. The rest of the package
imports them only from here. ``QUEEN_NO_EXTENSIONS=1`` (read at import) picks every pure twin;
otherwise each component falls back to its pure twin on its own when its compiled module
cannot be imported. :data:`IMPLEMENTATIONS` tells which one is live, for diagnostics and for
the test that a built wheel really loaded its compiled modules.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING, Dict, Tuple

__all__ = [
    "COMPONENTS",
    "IMPLEMENTATIONS",
    "NO_EXTENSIONS",
    "Chunk",
    "HashRing",
    "ItemQueue",
    "PushEncoder",
    "ack_body",
    "ack_outcomes",
    "all_succeeded",
    "decode_pop",
    "dumps_payload",
    "fnv1a32",
    "is_uuid",
    "load",
    "uuid7",
]

COMPONENTS = ("ring", "codec", "batch", "acks")
NO_EXTENSIONS = os.environ.get("QUEEN_NO_EXTENSIONS") == "1"


def load(component: str, implementation: str) -> ModuleType:
    """Import one twin explicitly: ``implementation`` is ``"compiled"`` or ``"pure"``."""
    suffix = "c" if implementation == "compiled" else "py"
    return importlib.import_module(f"queen._speedups._{component}_{suffix}")


def _select(component: str) -> Tuple[ModuleType, str]:
    if not NO_EXTENSIONS:
        try:
            return load(component, "compiled"), "compiled"
        except ImportError:
            pass
    return load(component, "pure"), "pure"


_ring, _ring_impl = _select("ring")
_codec, _codec_impl = _select("codec")
_batch, _batch_impl = _select("batch")
_acks, _acks_impl = _select("acks")

#: component name -> "compiled" or "pure"
IMPLEMENTATIONS: Dict[str, str] = {
    "ring": _ring_impl,
    "codec": _codec_impl,
    "batch": _batch_impl,
    "acks": _acks_impl,
}

if TYPE_CHECKING:
    from ._acks_py import ack_outcomes, all_succeeded
    from ._batch_py import Chunk, ItemQueue
    from ._codec_py import PushEncoder, ack_body, decode_pop, dumps_payload, is_uuid, uuid7
    from ._ring_py import HashRing, fnv1a32
else:
    HashRing = _ring.HashRing
    fnv1a32 = _ring.fnv1a32
    PushEncoder = _codec.PushEncoder
    ack_body = _codec.ack_body
    decode_pop = _codec.decode_pop
    dumps_payload = _codec.dumps_payload
    is_uuid = _codec.is_uuid
    uuid7 = _codec.uuid7
    Chunk = _batch.Chunk
    ItemQueue = _batch.ItemQueue
    ack_outcomes = _acks.ack_outcomes
    all_succeeded = _acks.all_succeeded
