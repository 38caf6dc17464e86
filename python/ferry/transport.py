"""The transport under :class:`ferry.Client`: requests, bounded answers, errors, pages, log streams and polls.

Every call has a timeout (connecting and each read) and reads a bounded
answer. A Transport holds no connection between calls, so one may be shared
by threads. The resource methods (:mod:`ferry.client`, :mod:`ferry.pipelines`,
:mod:`ferry.serving`...) are mixins over this class.
"""

from __future__ import annotations

import codecs
import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from . import models as m
from .config import resolve
from .errors import FerryConnectionError, FerryError

__all__ = ["LogStream", "Pager", "Transport"]

__version__ = "0.1.0"

T = TypeVar("T")
M = TypeVar("M", bound=m.Model)

#: the largest JSON answer read (as the Go client's MaxAnswerBytes)
MAX_ANSWER_BYTES = 64 << 20
#: the largest error answer read
MAX_ERROR_BYTES = 1 << 20
#: the longest log line returned in one piece
MAX_LOG_LINE = 1 << 20
#: the statuses a poll retries (0: the server could not be reached)
RETRIED_STATUSES = (0, 502, 503, 504)


class Pager(Generic[T]):
    """The items of a paged list, fetched a page at a time as they are iterated.

    ``for t in client.list_tenants(): ...`` walks every page; ``pages()``
    yields the pages themselves (each a :class:`ferry.models.Page` with its
    ``next`` cursor, to resume with ``after=`` later).
    """

    def __init__(self, fetch: Callable[[str | None], m.Page[T]], after: str | None = None) -> None:
        self._fetch = fetch
        self._after = after

    def pages(self) -> Iterator[m.Page[T]]:
        """Every page from the first (or from ``after``) to the last."""
        after = self._after
        while True:
            page = self._fetch(after)
            yield page
            if not page.next:
                return
            if page.next == after:
                raise FerryError(status=0, title=f"the server answered the cursor {after!r} with itself; stopping")
            after = page.next

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items


class LogStream:
    """A job replica's log as it arrives: iterate for lines (str, each ending in a newline but maybe the last).

    Use it as a context manager, or call :meth:`close`, to end a followed
    stream early; :meth:`text` reads the rest into one string.
    """

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn, self._resp = conn, resp
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                raw = self._resp.readline(MAX_LOG_LINE)
                if not raw:
                    tail = self._decoder.decode(b"", final=True)
                    if tail:
                        yield tail
                    return
                yield self._decoder.decode(raw)
        except (OSError, http.client.HTTPException) as e:
            raise FerryConnectionError(status=0, title=f"log stream broke: {e}") from e
        finally:
            self.close()

    def text(self, limit: int = MAX_ANSWER_BYTES) -> str:
        """The rest of the log as one string, at most ``limit`` characters."""
        out: list[str] = []
        n = 0
        for line in self:
            out.append(line[: limit - n])
            n += len(out[-1])
            if n >= limit:
                break
        self.close()
        return "".join(out)

    def close(self) -> None:
        """Ends the stream."""
        self._resp.close()
        self._conn.close()

    def __enter__(self) -> "LogStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport:
    """One ferry server's base URL, token and timeouts, and the requests to it.

    ``server`` and ``token`` default to ``FERRY_SERVER`` / ``FERRY_TOKEN``,
    then to the CLI's current context (``ferry login``); see
    :mod:`ferry.config`. ``tenant`` (default ``FERRY_TENANT``) is the tenant
    of the methods whose ``tenant`` is left out; ``gateway`` (default
    ``FERRY_GATEWAY``, then the context's gateway) is where deployments answer.
    ``timeout`` (seconds) bounds connecting and each read of every call.
    """

    #: operationId -> (HTTP method, path template, method name); set by Client
    OPERATIONS: ClassVar[dict[str, tuple[str, str, str]]] = {}

    def __init__(
        self,
        server: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        context: str | None = None,
        config_path: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        tenant: str | None = None,
        gateway: str | None = None,
    ) -> None:
        creds = resolve(server, token, config_path=config_path, context=context, gateway=gateway)
        u = urllib.parse.urlsplit(creds.server)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"server {creds.server!r}: must be an http:// or https:// URL")
        self.server = creds.server
        self.timeout = timeout
        self._token = creds.token
        self._https = u.scheme == "https"
        self._host = u.hostname
        self._port = u.port
        self._prefix = u.path.rstrip("/")
        self._ssl = ssl_context
        #: the tenant of calls that leave theirs out (None: they must give one)
        self.tenant = tenant or creds.tenant or None
        #: the serving gateway's base URL (None: unknown)
        self.gateway = creds.gateway or None

    def _tenant(self, tenant: str | None) -> str:
        """The tenant a call names, else the client's; ValueError when neither is set."""
        t = tenant or self.tenant
        if not t:
            raise ValueError("no tenant: pass tenant=..., Client(tenant=...), or set FERRY_TENANT")
        return t

    def __repr__(self) -> str:
        return f"ferry.Client(server={self.server!r})"

    # --- transport -------------------------------------------------------------

    def _open(
        self,
        op: str,
        path_values: tuple[str, ...] = (),
        query: dict[str, Any] | None = None,
        body: m.Model | None = None,
        *,
        accept: str = "application/json",
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        method, template, _ = self.OPERATIONS[op]
        url = _fill(template, path_values)
        q = {k: v for k, v in (query or {}).items() if v is not None}
        if q:
            url += "?" + urllib.parse.urlencode({k: _query_value(v) for k, v in q.items()})
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body.to_json()).encode()
            headers["Content-Type"] = "application/json"
        return self._open_path(method, url, data, accept=accept, timeout=timeout, headers=headers)

    def _open_path(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        *,
        accept: str = "application/json",
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sends a request to a path of the server (escaped, with its query) that is no operation of
        the OpenAPI document (the MLflow routes); a non-2xx answer raises its FerryError."""
        url = self._prefix + path
        headers = {**(headers or {}), "Accept": accept, "User-Agent": f"ferry-python/{__version__}"}
        if self._token:
            headers["Authorization"] = "Bearer " + self._token
        t = self.timeout if timeout is None else timeout
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=t, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=t)
        try:
            conn.request(method, url, body=data, headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise FerryConnectionError(status=0, title=f"cannot reach the ferry server at {self.server}: {e}") from e
        if resp.status >= 300:
            try:
                answer = _read(resp, MAX_ERROR_BYTES, truncate=True)
            except (OSError, http.client.HTTPException):
                answer = b""
            finally:
                conn.close()
            raise FerryError.from_answer(resp.status, answer)
        return conn, resp

    def _call(
        self,
        op: str,
        path_values: tuple[str, ...] = (),
        query: dict[str, Any] | None = None,
        body: m.Model | None = None,
    ) -> Any:
        """Sends a request and returns its decoded JSON answer (None when empty)."""
        conn, resp = self._open(op, path_values, query, body)
        try:
            data = _read(resp, MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException) as e:
            raise FerryConnectionError(status=0, title=f"read answer from {self.server}: {e}") from e
        finally:
            conn.close()
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as e:
            raise FerryError(status=resp.status, title=f"decode answer of {op}: {e}") from e

    def _pager(self, op: str, model: type[M], path_values: tuple[str, ...] = (),
               query: dict[str, Any] | None = None, limit: int | None = None,
               after: str | None = None) -> Pager[M]:
        def fetch(cursor: str | None) -> m.Page[M]:
            q = dict(query or {}, limit=limit, after=cursor)
            answer = self._call(op, path_values, q) or {}
            return m.Page(items=[model.from_json(x) for x in answer.get("items") or []], next=answer.get("next") or None)

        return Pager(fetch, after)


def _poll(kind: type[T], read: Callable[[], T], done: Callable[[T], bool], state: Callable[[T], str], *,
          timeout: float, interval: float, timed_out: Callable[[str], str]) -> T:
    """Calls ``read`` every ``interval`` seconds until ``done`` holds for its answer, and returns that answer.

    A FerryError of a status in RETRIED_STATUSES is retried; any other raises.
    After ``timeout`` seconds it raises TimeoutError(timed_out(s)), where s is
    ``state`` of the last answer, or "unknown (error)" when the last read failed.
    ``kind`` is the answer's type: it types the lambdas given as ``done`` and
    ``state`` (mypy does not infer T from ``read`` alone).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            x = read()
            if done(x):
                return x
            last = state(x)
        except FerryError as e:
            if e.status not in RETRIED_STATUSES:
                raise
            last = f"unknown ({e})"
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(timed_out(last))
        time.sleep(min(interval, left))


def _fill(template: str, values: tuple[str, ...]) -> str:
    """Fills the {name} segments of a path template in order, each value escaped."""
    parts = template.split("{")
    if len(parts) - 1 != len(values):
        raise TypeError(f"{template} takes {len(parts) - 1} path values, got {len(values)}")
    out = parts[0]
    for v, part in zip(values, parts[1:]):
        if not isinstance(v, str) or v == "":
            raise ValueError(f"{template}: path value {v!r} must be a non-empty string")
        _, rest = part.split("}", 1)
        out += urllib.parse.quote(v, safe="") + rest
    return out


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _read(resp: http.client.HTTPResponse, limit: int, truncate: bool = False) -> bytes:
    """Reads at most limit bytes of an answer; more is an error unless truncate."""
    chunks: list[bytes] = []
    n = 0
    while n <= limit:
        chunk = resp.read(min(1 << 16, limit + 1 - n))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        n += len(chunk)
    if truncate:
        return b"".join(chunks)[:limit]
    raise FerryError(status=resp.status, title=f"the answer is larger than {limit} bytes")
