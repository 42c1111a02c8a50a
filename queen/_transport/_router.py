"""The default transport: the lean route for plain HTTP/1.1, httpx for everything else.

``http://`` URLs (the 0.15 broker speaks HTTP/1.1 only, without TLS, API §1.1) go to
:class:`LeanTransport`; ``https://`` URLs, and every URL when ``QUEEN_TRANSPORT=httpx`` is
set, go to the fallback transport (an :class:`HttpxTransport` with the same headers, created on
first use unless one is given).
"""

from __future__ import annotations

import os
from typing import Any, Coroutine, Dict, Mapping, Optional

from ._base import RawResponse, Transport
from ._lean import LeanTransport

__all__ = ["RouterTransport"]


def _lean_wanted() -> bool:
    return os.environ.get("QUEEN_TRANSPORT", "").strip().lower() not in ("httpx", "0", "off")


class RouterTransport:
    """Sends each request through the lean route or the fallback, by URL scheme.

    Args:
        headers: headers for every request (``Authorization``, the user's custom headers).
        fallback: the transport for URLs the lean route does not serve; by default an
            ``HttpxTransport(headers)`` built on first use.
        lean: whether plain-HTTP URLs take the lean route (default: yes, unless the
            ``QUEEN_TRANSPORT`` environment variable is ``httpx``).
    """

    def __init__(
        self,
        headers: Optional[Mapping[str, str]] = None,
        *,
        fallback: Optional[Transport] = None,
        lean: Optional[bool] = None,
    ) -> None:
        self._headers = dict(headers or {})
        self._fallback = fallback
        self._lean: Optional[LeanTransport] = None
        if _lean_wanted() if lean is None else lean:
            self._lean = LeanTransport(self._headers)

    def _other(self) -> Transport:
        if self._fallback is None:
            from ._httpx import HttpxTransport

            self._fallback = HttpxTransport(self._headers)
        return self._fallback

    def send(
        self, method: str, url: str, body: Optional[bytes], timeout: float
    ) -> Coroutine[Any, Any, RawResponse]:
        # A plain function handing back the chosen route's coroutine: no frame of its own
        # on every request.
        if self._lean is not None and url.startswith("http://"):
            return self._lean.send(method, url, body, timeout)
        return self._other().send(method, url, body, timeout)

    def protocols(self) -> Dict[str, str]:
        """The HTTP version spoken with each origin served so far, by either route."""
        seen: Dict[str, str] = {}
        if self._lean is not None:
            seen.update(self._lean.protocols())
        other = getattr(self._fallback, "protocols", None)
        if other is not None:
            seen.update(other())
        return seen

    async def aclose(self) -> None:
        try:
            if self._lean is not None:
                await self._lean.aclose()
        finally:
            if self._fallback is not None:
                await self._fallback.aclose()
