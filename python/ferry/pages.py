"""Dashboard pages: every object's stable link, as api/v1/pages.go defines them.

:data:`PAGES` mirrors the Go contract's ``v1.Page`` constants (a test
checks they are the same); :func:`page_path` fills a pattern as
``v1.PagePath`` does. The objects that have a page and know their tenant
(a Job, Notebook, PipelineRun, Deployment, Tuning) give it as ``.page``,
relative to the server; :meth:`ferry.Client.page_url` makes it absolute::

    job = client.submit_job("team-a", body)
    print(client.server + job.page)      # or client.page_url("job", "team-a", job.name)
"""

from __future__ import annotations

import urllib.parse

__all__ = ["PAGES", "page_path", "page_url"]

#: kind -> pattern; the kind is the Go constant's name without ``Page``, in
#: snake_case (``PagePipelineRun`` is ``pipeline_run``). The name is the
#: object's name, or its id where the API addresses it by id (runs,
#: experiments, pipeline runs).
PAGES: dict[str, str] = {
    "tenant": "/tenants/:tenant",
    "job": "/tenants/:tenant/jobs/:name",
    "notebook": "/tenants/:tenant/notebooks/:name",
    "experiment": "/tenants/:tenant/experiments/:experiment",
    "run": "/tenants/:tenant/runs/:run",
    "model": "/tenants/:tenant/models/:model",
    "model_version": "/tenants/:tenant/models/:model/versions/:version",
    "pipeline": "/tenants/:tenant/pipelines/:pipeline",
    "pipeline_run": "/tenants/:tenant/pipeline-runs/:run",
    "deployment": "/tenants/:tenant/deployments/:name",
    "tuning": "/tenants/:tenant/tunings/:tuning",
}

# What Go's url.PathEscape leaves as it is, besides letters, digits and -_.~
_PATH_SAFE = "$&+:=@"


def page_path(kind: str, *values: str | None) -> str:
    """The path of a page: the pattern of ``kind`` with its parameters filled in order (the
    tenant, then the object's name or id), each path-escaped. A parameter with no value (None or
    "") is left out with the rest of the path, which then names the nearest page above it."""
    try:
        pattern = PAGES[kind]
    except KeyError:
        raise ValueError(f"kind {kind!r} has no page (one of {', '.join(PAGES)})") from None
    out = ""
    i = 0
    for seg in pattern.lstrip("/").split("/"):
        if seg.startswith(":"):
            if i >= len(values) or not values[i]:
                break
            seg = urllib.parse.quote(str(values[i]), safe=_PATH_SAFE)
            i += 1
        out += "/" + seg
    return out


def page_url(server: str, kind: str, *values: str | None) -> str:
    """:func:`page_path` joined to the server's base URL."""
    return server.removesuffix("/") + page_path(kind, *values)
