"""The ``Queen`` client (client contract §3)."""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    cast,
    overload,
)

from ._admin import Admin
from ._balancer import LoadBalancer
from ._buffer import BufferManager
from ._builders._ids import (
    MISSING_ID,
    MISSING_PARTITION,
    ack_address,
    check_ack_args,
    message_address,
    status_text,
)
from ._builders._queue import PopDecoder, QueueBuilder, pop_decoder
from ._builders._transaction import TransactionBuilder
from ._config import client_config, request_headers, warn_unknown_options
from ._errors import QueenError
from ._http import HttpClient
from ._logging import ClientLogger
from ._message import Message, message_class
from ._paths import query_string, segment
from ._signals import shutdown_registry
from ._speedups import PushEncoder, ack_body, ack_outcomes, all_succeeded, dumps_payload
from ._trace import send_trace
from ._transport import HttpxTransport, RawResponse, Transport
from ._transport._router import RouterTransport
from ._transport._tls import TlsOptions
from ._validate import bool_option, int_option, timestamp_option
from .types import AckResponse, BufferStats

if TYPE_CHECKING:
    from ._consumer import ConsumerRun

__all__ = ["Queen"]

PathText = Union[str, "os.PathLike[str]"]


def _decode_outcomes(response: RawResponse) -> Tuple[Any, Any]:
    if response.status == 204:
        return None, None
    return ack_outcomes(response.body)


def _unexpected_batch_answer(result: Any) -> Dict[str, Any]:
    if isinstance(result, dict):
        return {"success": False, "error": result.get("error") or "ACK failed"}
    return {"success": False, "error": f"Unexpected ack answer: {result!r}"}


def _batch_summary(
    messages: Sequence[Any], answered: int, failed: List[Dict[str, Any]], extra: Dict[str, Any]
) -> Dict[str, Any]:
    """What a batch ack reports: the refused entries, and the messages left unanswered."""
    if answered != len(messages):
        failed.extend(
            {"index": i, **ack_address(messages[i]), "error": "no result from the broker"}
            for i in range(answered, len(messages))
        )
    if not failed:
        return {"success": True, **extra}
    return {"success": False, **extra, "error": failed[0]["error"] or "ACK failed",
            "failed": failed}


class Queen:
    """Client of a Queen MQ 0.15 broker.

    Accepted forms: ``Queen("http://host:6632")``, ``Queen([url, url])``,
    ``Queen({"urls": [...], ...})`` and keywords only; keyword options are honoured with every
    form (D2). The constructor does no network I/O.

    Args:
        transport: an object implementing ``queen._transport.Transport`` (for tests); by
            default the lean HTTP/1.1 pool for ``http://`` URLs and httpx for the rest.
        http2_prior_knowledge: speak cleartext HTTP/2 (h2c, prior knowledge) to ``http://``
            URLs, for an HTTP/2 ingress in front of the broker. Off by default: the broker
            itself speaks HTTP/1.1 only and drops the preface, which then raises a
            ``QueenConnectionError`` naming this option. ``https://`` URLs need no option:
            they get HTTP/2 when the server offers it by ALPN, HTTP/1.1 otherwise.
        tls_ca_bundle: PEM file (or hashed directory) of the CAs that sign the server
            certificate. Without it the ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` environment
            variable is honoured, else certifi's bundle is used. Verification is always on
            unless ``tls_insecure_skip_verify`` is set.
        tls_client_cert: PEM file of a client certificate (mutual TLS); may hold the key.
        tls_client_key: PEM file of the client certificate's key, when not in the cert file.
        tls_insecure_skip_verify: accept any server certificate (logged at WARNING).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        urls: Optional[List[str]] = None,
        url: Optional[str] = None,
        timeout_millis: Optional[int] = None,
        retry_attempts: Optional[int] = None,
        retry_delay_millis: Optional[int] = None,
        load_balancing_strategy: Optional[str] = None,
        affinity_hash_ring: Optional[int] = None,
        enable_failover: Optional[bool] = None,
        health_retry_after_millis: Optional[int] = None,
        bearer_token: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        handle_signals: Optional[bool] = None,
        logger: Any = None,
        retry_429: Optional[bool] = None,
        transport: Optional[Transport] = None,
        http2_prior_knowledge: Optional[bool] = None,
        tls_ca_bundle: Optional[PathText] = None,
        tls_client_cert: Optional[PathText] = None,
        tls_client_key: Optional[PathText] = None,
        tls_insecure_skip_verify: Optional[bool] = None,
    ) -> None:
        keywords = {
            "urls": urls,
            "url": url,
            "timeout_millis": timeout_millis,
            "retry_attempts": retry_attempts,
            "retry_delay_millis": retry_delay_millis,
            "load_balancing_strategy": load_balancing_strategy,
            "affinity_hash_ring": affinity_hash_ring,
            "enable_failover": enable_failover,
            "health_retry_after_millis": health_retry_after_millis,
            "bearer_token": bearer_token,
            "headers": headers,
            "handle_signals": handle_signals,
            "logger": logger,
            "retry_429": retry_429,
            "transport": transport,
            "http2_prior_knowledge": http2_prior_knowledge,
            "tls_ca_bundle": tls_ca_bundle,
            "tls_client_cert": tls_client_cert,
            "tls_client_key": tls_client_key,
            "tls_insecure_skip_verify": tls_insecure_skip_verify,
        }
        merged, unknown = client_config(config, keywords)
        self._urls: List[str] = merged["urls"]
        self._config = merged
        self._log = ClientLogger(merged["logger"])
        warn_unknown_options(unknown, self._log)
        self._transport: Transport = merged.get("transport") or self._default_transport(
            merged, request_headers(merged)
        )

        self._balancer: Optional[LoadBalancer] = None
        if len(self._urls) > 1:
            self._balancer = LoadBalancer(
                self._urls,
                merged["load_balancing_strategy"],
                int(merged["affinity_hash_ring"]),
                int(merged["health_retry_after_millis"]),
            )
        self._http = HttpClient(
            self._transport,
            base_url=self._urls[0] if self._balancer is None else None,
            balancer=self._balancer,
            timeout_millis=int(merged["timeout_millis"]),
            retry_attempts=int(merged["retry_attempts"]),
            retry_delay_millis=int(merged["retry_delay_millis"]),
            enable_failover=bool(merged["enable_failover"]),
            retry_429=bool(merged["retry_429"]),
            logger=self._log,
        )
        self._encoders: Dict[Tuple[str, str], PushEncoder] = {}
        self._pop_decoders: Dict[Optional[str], PopDecoder] = {}
        self._buffers = BufferManager(self._http, self._log)
        self._consumers: Set[ConsumerRun] = set()
        self._admin: Optional[Admin] = None
        self._closing = False
        self._closed = False
        if merged["handle_signals"]:
            shutdown_registry.register(self, self._log)
        self._log.info(
            "Queen.constructor", {"urls": self._urls, "strategy": merged["load_balancing_strategy"]}
        )

    def _default_transport(self, merged: Dict[str, Any], headers: Dict[str, str]) -> Transport:
        # HTTP/2 and TLS live in HttpxTransport; plain HTTP/1.1 takes the router's lean route.
        prior_knowledge = bool(merged.get("http2_prior_knowledge"))
        tls = TlsOptions(
            merged.get("tls_ca_bundle"),
            merged.get("tls_client_cert"),
            merged.get("tls_client_key"),
            bool(merged.get("tls_insecure_skip_verify")),
        )
        fallback: Optional[HttpxTransport] = None
        https = any(u.startswith("https:") for u in self._urls)
        if prior_knowledge or https or tls != TlsOptions():
            fallback = HttpxTransport(headers, http2_prior_knowledge=prior_knowledge, tls=tls)
        return RouterTransport(headers, fallback=fallback, lean=False if prior_knowledge else None)

    @property
    def http_protocols(self) -> Dict[str, Optional[str]]:
        """The HTTP version spoken with each broker URL: ``"HTTP/2"``, ``"HTTP/1.1"``, or
        ``None`` while an ``https://`` (or h2c) URL has not been connected yet."""
        protocols = getattr(self._transport, "protocols", None)
        seen = protocols() if protocols is not None else {}
        prior_knowledge = bool(self._config.get("http2_prior_knowledge"))
        out: Dict[str, Optional[str]] = {}
        for url in self._urls:
            slash = url.find("/", url.find("://") + 3)
            origin = url if slash < 0 else url[:slash]
            protocol = seen.get(origin)
            if protocol is None and url.startswith("http:") and not prior_knowledge:
                protocol = "HTTP/1.1"
            out[url] = protocol
        return out

    # -- builders -----------------------------------------------------------------------

    def queue(self, name: Optional[str] = None) -> QueueBuilder:
        return QueueBuilder(self, name)

    def transaction(self) -> TransactionBuilder:
        return TransactionBuilder(self)

    @property
    def admin(self) -> Admin:
        if self._admin is None:
            self._admin = Admin(self._http)
        return self._admin

    @property
    def urls(self) -> List[str]:
        """The normalised broker URLs."""
        return list(self._urls)

    # -- internals shared by the builders ------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closing:
            raise QueenError("Queen client is closed")

    def _encoder(self, queue: str, partition: str) -> PushEncoder:
        key = (queue, partition)
        encoder = self._encoders.get(key)
        if encoder is None:
            from ._paths import check_name

            check_name(queue, "queue name")
            check_name(partition, "partition name")
            encoder = PushEncoder(queue, partition, self._on_bad_trace)
            self._encoders[key] = encoder
        return encoder

    def _on_bad_trace(self, value: object) -> None:
        self._log.warning(
            "QueueBuilder.push", {"droppedTraceId": str(value), "reason": "not a UUID"}
        )

    def _pop_decoder(self, group: Optional[str]) -> PopDecoder:
        """The pop answer decoder for ``group``, built once: its messages trace as ``group``."""
        decoder = self._pop_decoders.get(group)
        if decoder is None:
            decoder = pop_decoder(message_class(self._trace, group))
            self._pop_decoders[group] = decoder
        return decoder

    async def _trace(self, message: Message, group: Optional[str], config: Any) -> Dict[str, Any]:
        return await send_trace(self._http, self._log, message, group, config)

    # -- ack / renew --------------------------------------------------------------------

    async def ack(
        self,
        message: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]],
        status: Union[bool, str] = True,
        context: Optional[Mapping[str, Any]] = None,
        *,
        error: Optional[str] = None,
    ) -> AckResponse:
        """Acknowledge one message (``/ack``) or a list (``/ack/batch``); never raises for
        transport or server errors (contract §3.3).

        Raises:
            QueenTypeError: ``status``, ``context`` or ``error`` of the wrong type.
            QueenValidationError: a message of a list without its ids (a ``ValueError``).
        """
        check_ack_args(status, context, error)
        return cast(AckResponse, await self._ack(message, status, context, error))

    async def _ack(
        self,
        message: Any,
        status: Union[bool, str],
        context: Optional[Mapping[str, Any]],
        error: Optional[str],
    ) -> Dict[str, Any]:
        group = (context or {}).get("group")
        err = error if error is not None else (context or {}).get("error")
        if isinstance(message, (list, tuple)):
            return await self._ack_batch(list(message), status, group, err)
        tx, partition_id, lease = message_address(message)
        if not tx:
            return {"success": False, "error": MISSING_ID}
        if not partition_id:
            return {"success": False, "error": MISSING_PARTITION}
        body: Dict[str, Any] = {
            "transactionId": tx,
            "partitionId": partition_id,
            "status": status_text(status),
            "error": err,
            "consumerGroup": group,
        }
        if lease:
            body["leaseId"] = lease
        try:
            result = await self._http.request("POST", "/api/v1/ack", body=dumps_payload(body))
        except Exception as exc:
            return {"success": False, "error": str(exc)}
        if isinstance(result, list) and result and isinstance(result[0], dict):
            first = result[0]
            if first.get("success"):
                return {"success": True, **first}
            return {**first, "success": False, "error": first.get("error") or "ACK failed"}
        if isinstance(result, dict):
            if result.get("error") is not None:
                return {"success": False, "error": result["error"]}
            return {"success": True, **result}
        return {"success": False, "error": f"Unexpected ack answer: {result!r}"}

    async def _ack_batch(
        self,
        messages: List[Dict[str, Any]],
        status: Union[bool, str],
        group: Optional[str],
        error: Optional[str],
    ) -> Dict[str, Any]:
        if not messages:
            # The broker never answers an empty batch (API §2.4, Q6).
            return {"processed": 0, "results": [], "success": True}
        body = ack_body(messages, status, error, group)
        try:
            result = await self._http.request("POST", "/api/v1/ack/batch", body=body)
        except Exception as exc:
            return {"success": False, "error": str(exc)}
        if result is None:
            return {"success": True, "results": []}
        if not isinstance(result, list):
            return _unexpected_batch_answer(result)
        failed = [] if all_succeeded(result) else [
            {
                "index": i,
                **ack_address(messages[i]),
                "error": entry.get("error") if isinstance(entry, dict) else None,
            }
            for i, entry in enumerate(result)
            if not (isinstance(entry, dict) and entry.get("success") is True)
        ]
        return _batch_summary(messages, len(result), failed, {"results": result})

    async def _settle_batch(
        self,
        messages: Sequence[Mapping[str, Any]],
        status: Union[bool, str],
        context: Mapping[str, Any],
    ) -> Dict[str, Any]:
        """A batch ack for the consumer, which reads only ``success``, ``error`` and
        ``failed``: what :meth:`ack` answers for a list, without the broker's ``results``
        list, whose entries are never decoded (``ack_outcomes``)."""
        if not messages:
            return {"success": True}
        body = ack_body(messages, status, context.get("error"), context.get("group"))
        try:
            top, outcomes = await self._http.request(
                "POST", "/api/v1/ack/batch", body=body, decode=_decode_outcomes
            )
        except Exception as exc:
            return {"success": False, "error": str(exc)}
        if outcomes is None:
            return {"success": True} if top is None else _unexpected_batch_answer(top)
        failed = [
            {"index": i, **ack_address(messages[i]), "error": outcome[1]}
            for i, outcome in enumerate(outcomes)
            if outcome[0] is not True
        ]
        return _batch_summary(messages, len(outcomes), failed, {})

    @overload
    async def renew(
        self, message_or_lease_id: List[Any], *, seconds: int = 60
    ) -> List[Dict[str, Any]]: ...

    @overload
    async def renew(
        self, message_or_lease_id: Union[str, Mapping[str, Any]], *, seconds: int = 60
    ) -> Dict[str, Any]: ...

    async def renew(
        self, message_or_lease_id: Any, *, seconds: int = 60
    ) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        """Extend leases by ``seconds`` (contract §3.4); never raises for transport errors.

        One lease id or message gives one result dict, a list gives a list of them (one per
        distinct lease; a single failure entry when the list held no lease id at all).

        Raises:
            QueenTypeError / QueenValidationError: ``seconds`` is not an integer >= 1.
        """
        seconds = int_option(seconds, "seconds", minimum=1)
        many = isinstance(message_or_lease_id, list)
        items = message_or_lease_id if many else [message_or_lease_id]
        leases: List[str] = []
        for item in items:
            lease = item.get("leaseId") if isinstance(item, dict) else item
            if isinstance(lease, str) and lease and lease not in leases:
                leases.append(lease)
        if not leases:
            self._log.warning("Queen.renew", "No valid lease IDs found for renewal")
            failure = {"success": False, "error": "No valid lease IDs found for renewal"}
            return [failure] if many else failure
        body = dumps_payload({"seconds": seconds})
        results = await asyncio.gather(*(self._renew_one(lease, body) for lease in leases))
        return list(results) if many else results[0]

    async def _renew_one(self, lease: str, body: bytes) -> Dict[str, Any]:
        try:
            path = f"/api/v1/lease/{segment(lease, 'lease id')}/extend"
            result = await self._http.request("POST", path, body=body)
        except Exception as exc:
            return {"leaseId": lease, "success": False, "error": str(exc)}
        first = result[0] if isinstance(result, list) and result else result
        if isinstance(first, dict) and first.get("success"):
            expires = first.get("expiresAt")
            return {
                "leaseId": lease,
                "success": True,
                "newExpiresAt": expires,
                "expiresAt": expires,
            }
        error = first.get("error") if isinstance(first, dict) else None
        return {"leaseId": lease, "success": False, "error": error or "Lease renewal failed"}

    # -- buffers ------------------------------------------------------------------------

    async def flush_all_buffers(self) -> None:
        await self._buffers.flush_all()

    def get_buffer_stats(self) -> BufferStats:
        """Counters of the client-side buffers; a plain read, usable outside any event loop."""
        return cast(BufferStats, self._buffers.stats())

    # -- consumer groups ----------------------------------------------------------------

    async def delete_consumer_group(
        self, consumer_group: str, delete_metadata: bool = True
    ) -> Any:
        bool_option(delete_metadata, "delete_metadata")
        path = f"/api/v1/consumer-groups/{segment(consumer_group, 'consumer group')}"
        result = await self._http.request(
            "DELETE", path + query_string([("deleteMetadata", bool(delete_metadata))])
        )
        return {"success": True} if result is None else result

    async def update_consumer_group_timestamp(
        self, consumer_group: str, timestamp: Union[str, _dt.datetime]
    ) -> Any:
        path = f"/api/v1/consumer-groups/{segment(consumer_group, 'consumer group')}/subscription"
        text = timestamp_option(timestamp, "timestamp", self._log)
        return await self._http.request(
            "POST", path, body=dumps_payload({"subscriptionTimestamp": text})
        )

    # -- lifecycle ----------------------------------------------------------------------

    def enable_graceful_shutdown(self) -> None:
        shutdown_registry.register(self, self._log)

    def disable_graceful_shutdown(self) -> None:
        shutdown_registry.unregister(self)

    async def close(self, *, timeout_millis: int = 30000) -> None:
        """Stop consumers, flush buffers within the deadline, close the pool (§3.7)."""
        timeout_millis = int_option(timeout_millis, "timeout_millis")
        if self._closed or self._closing:
            return
        self._closing = True
        self._log.info("Queen.close", "Closing Queen client...")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_millis / 1000.0
        try:
            runs = list(self._consumers)
            for run in runs:
                run.stop()
            if runs:
                await asyncio.wait(
                    [run.finished for run in runs], timeout=max(0.0, deadline - loop.time())
                )
            await self._buffers.close(max(0.0, deadline - loop.time()))
            self._log.info("Queen.close", "All buffers flushed")
        except Exception as exc:  # close() never raises (§3.7)
            self._log.error("Queen.close", {"error": str(exc)})
        self._http.closed = True
        try:
            await self._transport.aclose()
        except Exception as exc:
            self._log.error("Queen.close", {"error": str(exc)})
        shutdown_registry.unregister(self)
        self._closed = True
        self._log.info("Queen.close", "Queen client closed")

    def __del__(self) -> None:
        # Buffered messages leave only through close(); say so if they are being lost.
        if getattr(self, "_closed", True):
            return
        try:
            self._buffers.warn_unsent("the client was garbage-collected without close()")
        except Exception:  # interpreter shutdown: modules may be half torn down
            pass

    async def __aenter__(self) -> Queen:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Queen(urls={self._urls!r})"

