"""The one seam between the client and HTTP.

Everything above this package speaks :class:`Transport`: bytes in (method, URL, body),
:class:`RawResponse` out. httpx (and later leaner routes) live behind it, and their
exceptions are translated into the Queen error tree here and nowhere else. Tests can swap in
any object with the same two methods.
"""

from ._base import RawResponse, Transport
from ._httpx import HttpxTransport
from ._lean import LeanTransport
from ._router import RouterTransport

__all__ = ["HttpxTransport", "LeanTransport", "RawResponse", "RouterTransport", "Transport"]
