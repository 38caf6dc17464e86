"""Reading a run's artifact files (``ferry artifact get``): their bytes, or a file, checked against their sha256.

    data = client.read_artifact("team-a", run_id, "model/model.joblib")
    digest = client.download_artifact("team-a", run_id, "model/model.joblib", "/tmp/model.joblib")

The files come from the tenant's MLflow artifact proxy
(``/mlflow/<tenant>/api/2.0/mlflow-artifacts/artifacts/...``), which is no
operation of the OpenAPI document; the server records every read. Each
answer's content is checked against the sha256 the server recorded
(``X-Ferry-Sha256``) and its length, so a truncated or altered file is an
error, never a file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.parse
from collections.abc import Callable

from .errors import FerryConnectionError, FerryError
from .transport import MAX_ANSWER_BYTES, Transport

__all__ = ["ArtifactFilesMixin", "artifact_file_path"]

#: the header with the sha256 (hex) the server recorded for the file
DIGEST_HEADER = "X-Ferry-Sha256"

_CHUNK = 1 << 16


def artifact_file_path(tenant: str, experiment_id: str, run: str, path: str) -> str:
    """The server path of one artifact file of a run (as api/v1's MLflowArtifactPath), each part escaped."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"artifact path {path!r} must be relative, without '.', '..' or empty segments")
    q = urllib.parse.quote
    return "/mlflow/{}/api/2.0/mlflow-artifacts/artifacts/{}/{}/artifacts/{}".format(
        q(tenant, safe=""), q(experiment_id, safe=""), q(run, safe=""), "/".join(q(p, safe="") for p in parts))


class ArtifactFilesMixin(Transport):
    """The Client's reads of artifact files (see the module's docstring)."""

    def _run_experiment(self, tenant: str, run: str) -> str:
        """The experiment id of a run (its artifact files are filed under it)."""
        answer = self._call("getRun", (tenant, run)) or {}
        return str(answer.get("experimentId") or "0")

    def read_artifact(self, tenant: str, run: str, path: str, *, limit: int = MAX_ANSWER_BYTES) -> bytes:
        """The content of one artifact file of a run (``path`` relative to its artifact root).

        Raises :class:`ferry.FerryError` when the file is missing (404) or
        larger than ``limit`` bytes, and when its content does not match the
        sha256 the server recorded.
        """
        chunks: list[bytes] = []
        size = 0

        def write(b: bytes) -> None:
            nonlocal size
            size += len(b)
            if size > limit:
                raise FerryError(status=0, title=f"artifact {path} is larger than {limit} bytes: use download_artifact")
            chunks.append(b)

        self._fetch_artifact(tenant, run, path, write)
        return b"".join(chunks)

    def download_artifact(self, tenant: str, run: str, path: str, to: str | os.PathLike[str]) -> str:
        """Writes one artifact file of a run to the file ``to`` and returns its sha256 (hex).

        The content goes to a new file next to ``to``, which is renamed to
        ``to`` only once its length and sha256 match what the server
        recorded: a failed download leaves ``to`` as it was.
        """
        target = os.fspath(to)
        fd, tmp = tempfile.mkstemp(prefix=".ferry-artifact-", dir=os.path.dirname(os.path.abspath(target)))
        try:
            with os.fdopen(fd, "wb") as f:
                digest = self._fetch_artifact(tenant, run, path, f.write)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return digest

    def _fetch_artifact(self, tenant: str, run: str, path: str, write: Callable[[bytes], object]) -> str:
        """Streams a file's content to write; returns its sha256 after checking it and its length."""
        url = artifact_file_path(tenant, self._run_experiment(tenant, run), run, path)
        conn, resp = self._open_path("GET", url, accept="application/octet-stream, application/json")
        h = hashlib.sha256()
        n = 0
        try:
            while chunk := resp.read(_CHUNK):
                h.update(chunk)
                n += len(chunk)
                write(chunk)
        except (OSError, http.client.HTTPException) as e:
            raise FerryConnectionError(status=0, title=f"download artifact {path}: {e}") from e
        finally:
            conn.close()
        got, want = h.hexdigest(), resp.getheader(DIGEST_HEADER, "")
        if want and got != want:
            raise FerryError(status=resp.status, title=f"download artifact {path}: {n} bytes with sha256 {got}, "
                                                        f"the server recorded {want}")
        length = resp.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) != n:
            raise FerryError(status=resp.status, title=f"download artifact {path}: {n} of {length} bytes")
        return got
