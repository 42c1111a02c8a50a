"""``queen.admin``: thin wrappers over the broker's admin routes (client contract §3.8).

Each method returns the decoded body unchanged, broker error bodies included (they arrive
with status 200, API §1.5), and ``None`` for an empty body (API §1.4). Transport and non-2xx
failures raise typed errors. Methods whose route the 0.15 broker does not serve raise
:class:`QueenUnsupportedError` at once, without a request (D17).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ._errors import QueenUnsupportedError
from ._http import HttpClient
from ._paths import query_string, segment
from ._speedups import dumps_payload
from ._validate import bool_option, int_option, mapping_option, str_option

__all__ = ["Admin"]


def _unsupported(what: str, route: str) -> QueenUnsupportedError:
    return QueenUnsupportedError(f"{what} needs {route}, which the 0.15 broker does not serve")


class Admin:
    """Admin API of one client; reach it as ``queen.admin``."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    async def _get(self, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
        return await self._http.request("GET", path + query_string((params or {}).items()))

    # -- resources ------------------------------------------------------------------------

    async def get_overview(self) -> Any:
        return await self._get("/api/v1/resources/overview")

    async def get_namespaces(self) -> Any:
        return await self._get("/api/v1/resources/namespaces")

    async def get_tasks(self) -> Any:
        return await self._get("/api/v1/resources/tasks")

    async def list_queues(self, **params: Any) -> Any:
        return await self._get("/api/v1/resources/queues", params)

    async def get_queue(self, name: str) -> Any:
        return await self._get(f"/api/v1/resources/queues/{segment(name, 'queue name')}")

    async def clear_queue(self, name: str, partition: Optional[str] = None) -> Any:
        raise _unsupported("clear_queue", "DELETE /api/v1/queues/:name/clear")

    async def get_partitions(self, **params: Any) -> Any:
        raise _unsupported("get_partitions", "GET /api/v1/resources/partitions")

    # -- messages -------------------------------------------------------------------------

    async def list_messages(self, **params: Any) -> Any:
        return await self._get("/api/v1/messages", params)

    def _message_path(self, partition_id: str, transaction_id: str) -> str:
        return (
            f"/api/v1/messages/{segment(partition_id, 'partition id')}/"
            f"{segment(transaction_id, 'transaction id')}"
        )

    async def get_message(self, partition_id: str, transaction_id: str) -> Any:
        return await self._get(self._message_path(partition_id, transaction_id))

    async def delete_message(self, partition_id: str, transaction_id: str) -> Any:
        return await self._http.request(
            "DELETE", self._message_path(partition_id, transaction_id)
        )

    async def retry_message(self, partition_id: str, transaction_id: str) -> Any:
        raise _unsupported("retry_message", "POST /api/v1/messages/:pid/:tx/retry")

    async def move_message_to_dlq(self, partition_id: str, transaction_id: str) -> Any:
        raise _unsupported("move_message_to_dlq", "POST /api/v1/messages/:pid/:tx/dlq")

    # -- traces ---------------------------------------------------------------------------

    async def get_traces_by_name(self, trace_name: str, **params: Any) -> Any:
        # The one path segment the broker percent-decodes (API §1.2).
        from urllib.parse import quote

        name = quote(str_option(trace_name, "trace_name"), safe="")
        return await self._get(f"/api/v1/traces/by-name/{name}", params)

    async def get_trace_names(self, **params: Any) -> Any:
        return await self._get("/api/v1/traces/names", params)

    async def get_traces_for_message(self, partition_id: str, transaction_id: str) -> Any:
        return await self._get(
            f"/api/v1/traces/{segment(partition_id, 'partition id')}/"
            f"{segment(transaction_id, 'transaction id')}"
        )

    # -- status and analytics -------------------------------------------------------------

    async def get_status(self, **params: Any) -> Any:
        return await self._get("/api/v1/status", params)

    async def get_queue_stats(self, **params: Any) -> Any:
        return await self._get("/api/v1/status/queues", params)

    async def get_queue_detail(self, name: str, **params: Any) -> Any:
        return await self._get(f"/api/v1/status/queues/{segment(name, 'queue name')}", params)

    async def get_queue_messages(self, name: str, **params: Any) -> Any:
        """``GET /api/v1/status/queues/:queue/messages`` (added; see API Q30 on paging)."""
        return await self._get(
            f"/api/v1/status/queues/{segment(name, 'queue name')}/messages", params
        )

    async def get_analytics(self, **params: Any) -> Any:
        return await self._get("/api/v1/status/analytics", params)

    async def get_buffer_status(self) -> Any:
        """``GET /api/v1/status/buffers``: the answering worker's disk-buffer counters."""
        return await self._get("/api/v1/status/buffers")

    async def get_system_metrics(self, **params: Any) -> Any:
        return await self._get("/api/v1/analytics/system-metrics", params)

    async def get_worker_metrics(self, **params: Any) -> Any:
        return await self._get("/api/v1/analytics/worker-metrics", params)

    async def get_postgres_stats(self) -> Any:
        return await self._get("/api/v1/analytics/postgres-stats")

    # -- consumer groups ------------------------------------------------------------------

    async def list_consumer_groups(self) -> Any:
        return await self._get("/api/v1/consumer-groups")

    async def get_consumer_group(self, name: str) -> Any:
        return await self._get(f"/api/v1/consumer-groups/{segment(name, 'consumer group')}")

    async def get_lagging_consumers(self, min_lag_seconds: int = 60) -> Any:
        seconds = int_option(min_lag_seconds, "min_lag_seconds")
        return await self._get("/api/v1/consumer-groups/lagging", {"minLagSeconds": seconds})

    async def refresh_consumer_stats(self) -> Any:
        return await self._http.request("POST", "/api/v1/stats/refresh", body=b"{}")

    async def delete_consumer_group_for_queue(
        self, consumer_group: str, queue_name: str, delete_metadata: bool = True
    ) -> Any:
        path = (
            f"/api/v1/consumer-groups/{segment(consumer_group, 'consumer group')}"
            f"/queues/{segment(queue_name, 'queue name')}"
        )
        metadata = bool_option(delete_metadata, "delete_metadata")
        return await self._http.request(
            "DELETE", path + query_string([("deleteMetadata", metadata)])
        )

    async def seek_consumer_group(
        self, consumer_group: str, queue_name: str, options: Optional[Dict[str, Any]] = None
    ) -> Any:
        """``{"toEnd": True}`` or ``{"timestamp": "<iso>"}``; ``None`` sends ``{}`` (→ 400)."""
        path = (
            f"/api/v1/consumer-groups/{segment(consumer_group, 'consumer group')}"
            f"/queues/{segment(queue_name, 'queue name')}/seek"
        )
        body = {} if options is None else mapping_option(options, "options")
        return await self._http.request("POST", path, body=dumps_payload(body))

    async def seek_partition_to_end(
        self, consumer_group: str, queue_name: str, partition: str
    ) -> Any:
        """Partition-level seek to the newest message (added; API §2.9)."""
        path = (
            f"/api/v1/consumer-groups/{segment(consumer_group, 'consumer group')}"
            f"/queues/{segment(queue_name, 'queue name')}"
            f"/partitions/{segment(partition, 'partition name')}/seek"
        )
        return await self._http.request("POST", path)

    # -- health and maintenance -----------------------------------------------------------

    async def health(self) -> Any:
        return await self._get("/health")

    async def metrics(self) -> Any:
        return await self._get("/metrics")

    async def get_maintenance_mode(self) -> Any:
        return await self._get("/api/v1/system/maintenance")

    async def set_maintenance_mode(self, enabled: bool) -> Any:
        enabled = bool_option(enabled, "enabled")
        return await self._http.request(
            "POST", "/api/v1/system/maintenance", body=dumps_payload({"enabled": enabled})
        )

    async def get_pop_maintenance_mode(self) -> Any:
        return await self._get("/api/v1/system/maintenance/pop")

    async def set_pop_maintenance_mode(self, enabled: bool) -> Any:
        enabled = bool_option(enabled, "enabled")
        return await self._http.request(
            "POST", "/api/v1/system/maintenance/pop", body=dumps_payload({"enabled": enabled})
        )

    async def get_shared_state(self) -> Any:
        return await self._get("/api/v1/system/shared-state")
