"""A PEP 517 build backend that needs nothing but the standard library.

`pip install ./python` builds in an isolated environment and would fetch
setuptools from PyPI; this backend has no build requirements, so the
install works offline. It writes a pure-Python wheel (py3-none-any) of the
package named in pyproject.toml, an editable wheel (a .pth file pointing at
this directory), and an sdist.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _dist(p: dict) -> str:
    return p["name"].replace("-", "_")


def _metadata(p: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {p['name']}",
        f"Version: {p['version']}",
        f"Summary: {p.get('description', '')}",
        f"Requires-Python: {p.get('requires-python', '>=3')}",
    ]
    lines += [f"Classifier: {c}" for c in p.get("classifiers", [])]
    lines += [f"Requires-Dist: {d}" for d in p.get("dependencies", [])]
    readme = ROOT / p["readme"] if p.get("readme") else None
    body = readme.read_text(encoding="utf-8") if readme and readme.exists() else ""
    if body:
        lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + body


def _package_files() -> list[Path]:
    return sorted(
        f for f in (ROOT / "ferry").rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".pyo")
    )


def _write_wheel(wheel_directory: str, files: dict[str, bytes]) -> str:
    p = _project()
    name = f"{_dist(p)}-{p['version']}"
    info = f"{name}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = _metadata(p).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: ferry_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    records = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        records.append(f"{path},sha256={digest},{len(data)}")
    records.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(records) + "\n").encode()
    basename = f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, basename), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            zi = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return basename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, {f.relative_to(ROOT).as_posix(): f.read_bytes() for f in _package_files()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, {f"__editable__.{_dist(_project())}.pth": (str(ROOT) + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    name = f"{_dist(p)}-{p['version']}"
    basename = f"{name}.tar.gz"
    members = [ROOT / "pyproject.toml", *_package_files(), *sorted((ROOT / "_build").glob("*.py"))]
    if p.get("readme") and (ROOT / p["readme"]).exists():
        members.append(ROOT / p["readme"])
    with tarfile.open(os.path.join(sdist_directory, basename), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for f in members:
            t.add(f, arcname=f"{name}/{f.relative_to(ROOT).as_posix()}", recursive=False)
        info = _metadata(p).encode()
        ti = tarfile.TarInfo(f"{name}/PKG-INFO")
        ti.size, ti.mode = len(info), 0o644
        t.addfile(ti, io.BytesIO(info))
    return basename
