"""Errors of the ferry SDK.

Every failure of a call is a :class:`FerryError`. When the server answered,
it carries the server's RFC 9457 problem (``status``, ``title``, ``detail``,
``errors`` naming the fields at fault); when it could not be reached, it is a
:class:`FerryConnectionError` with ``status`` 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

__all__ = ["ErrorDetail", "FerryConnectionError", "FerryError"]


@dataclass(frozen=True)
class ErrorDetail:
    """One offending field of a problem (schema ErrorDetail)."""

    message: str | None = None
    #: where the error is, e.g. ``body.name`` or ``query.replica``
    location: str | None = None
    value: Any = None


@dataclass(eq=False)
class FerryError(Exception):
    """A call failed; when the server answered, its problem+json (schema ErrorModel)."""

    #: HTTP status (0 when the server was not reached)
    status: int
    title: str = ""
    detail: str = ""
    type: str = ""
    instance: str = ""
    errors: list[ErrorDetail] = field(default_factory=list)

    def __post_init__(self) -> None:
        Exception.__init__(self, str(self))

    @property
    def locations(self) -> list[str]:
        """The locations of the fields at fault, e.g. ``["body.name"]``."""
        return [e.location for e in self.errors if e.location]

    def __str__(self) -> str:
        msg = self.detail or self.title
        fields = [f"{e.location}: {e.message}" for e in self.errors if e.location and e.location not in msg]
        if fields:
            msg += " (" + "; ".join(fields) + ")"
        return f"{msg} (HTTP {self.status})" if self.status else msg

    @classmethod
    def from_answer(cls, status: int, body: bytes) -> "FerryError":
        """The error of a non-2xx answer: its problem, an MLflow error (``error_code`` as the title,
        ``message`` as the detail), or else the status and the body's first line."""
        try:
            p = json.loads(body)
        except ValueError:
            p = None
        if isinstance(p, dict) and isinstance(p.get("error_code"), str) and not p.get("title"):
            # The MLflow routes (/mlflow/<tenant>/...) answer {"error_code", "message"}.
            return cls(status=status, title=p["error_code"], detail=str(p.get("message") or ""))
        if not isinstance(p, dict) or not (p.get("title") or p.get("detail")):
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
            first = body.decode("utf-8", "replace").strip().split("\n", 1)[0][:200]
            return cls(status=status, title=f"{reason} {first}".strip())
        details = []
        for e in p.get("errors") or []:
            if isinstance(e, dict):
                details.append(ErrorDetail(message=e.get("message"), location=e.get("location"), value=e.get("value")))
        return cls(
            status=status,
            title=str(p.get("title") or ""),
            detail=str(p.get("detail") or ""),
            type=str(p.get("type") or ""),
            instance=str(p.get("instance") or ""),
            errors=details,
        )


@dataclass(eq=False)
class FerryConnectionError(FerryError):
    """The server could not be reached, or its answer could not be read."""
