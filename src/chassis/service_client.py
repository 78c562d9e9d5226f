"""A pooled, resilient HTTP client for calling another service's replicas.

- one httpx.AsyncClient per process (connection pooling and keepalive to upstreams);
- client-side load balancing with failover (chassis.balancer);
- retries with tenacity: a connection that could not be made is retried on another
  replica for any method (nothing was sent); a failure after sending is retried only
  for idempotent methods, so a POST is never executed twice by a retry;
- exponential backoff with jitter between attempts; timeouts on every call;
- X-Request-ID propagated from the current request's log context.
"""

import httpx
import structlog
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from chassis.balancer import ReplicaPool
from chassis.errors import DependencyUnavailable
from chassis.metrics_upstream import UPSTREAM_ERRORS, UPSTREAM_REQUESTS, UPSTREAM_RETRIES

IDEMPOTENT_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

log = structlog.get_logger("service_client")


class SentError(Exception):
    """A transport error after the request may have reached the replica."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class ServiceClient:
    def __init__(self, pool: ReplicaPool, *, caller: str, connect_timeout: float = 1.0, timeout: float = 10.0,
                 max_connections: int = 100):
        self.pool = pool
        self.caller = caller
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Send to one replica, failing over to the others; DependencyUnavailable when none answers."""
        method = method.upper()
        headers = dict(kwargs.pop("headers", None) or {})
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            headers.setdefault("x-request-id", request_id)
        candidates = iter(self.pool.candidates() * 2)

        def retryable(error: BaseException) -> bool:
            return isinstance(error, NOT_SENT_ERRORS) or (isinstance(error, SentError) and method in IDEMPOTENT_METHODS)

        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(len(self.pool.replicas) + 1),
            wait=wait_random_exponential(multiplier=0.01, max=0.1),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    replica = next(candidates)
                    if attempt.retry_state.attempt_number > 1:
                        UPSTREAM_RETRIES.labels(self.caller, self.pool.service).inc()
                    return await self._send(replica, method, path, headers, kwargs)
        except NOT_SENT_ERRORS as error:
            raise DependencyUnavailable(self.pool.service, f"no replica reachable ({type(error).__name__})") from error
        except SentError as error:
            raise DependencyUnavailable(self.pool.service, f"upstream failed ({type(error.error).__name__})") from error
        raise AssertionError("unreachable")

    async def _send(self, replica, method: str, path: str, headers: dict, kwargs: dict) -> httpx.Response:
        upstream = replica.url.split("//")[-1]
        try:
            response = await self.http.request(method, replica.url + path, headers=headers, **kwargs)
        except NOT_SENT_ERRORS as error:
            self.pool.eject(replica)
            UPSTREAM_ERRORS.labels(self.caller, self.pool.service, upstream, "connect").inc()
            log.warning("upstream connect failed", upstream=replica.url, error=type(error).__name__)
            raise
        except httpx.TransportError as error:
            self.pool.eject(replica)
            kind = "timeout" if isinstance(error, httpx.TimeoutException) else "transport"
            UPSTREAM_ERRORS.labels(self.caller, self.pool.service, upstream, kind).inc()
            log.warning("upstream failed", upstream=replica.url, error=type(error).__name__)
            raise SentError(error) from error
        UPSTREAM_REQUESTS.labels(self.caller, self.pool.service, upstream, str(response.status_code)).inc()
        return response

    async def aclose(self) -> None:
        await self.http.aclose()
