"""Where a Client finds its server and token.

In order: the arguments given to :class:`ferry.Client`; the environment
variables ``FERRY_SERVER`` and ``FERRY_TOKEN``; the CLI's config file
(``$FERRY_CONFIG``, else ``$XDG_CONFIG_HOME/ferry/config.yaml``, else
``~/.config/ferry/config.yaml``), whose current context (or the one named by
``context=`` / ``FERRY_CONTEXT``) gives a server and its token. A token from
the config file is used only with that context's own server, so a token is
never sent to a server it was not issued for.

``FERRY_TENANT`` names the default tenant (ferry sets it, with
``FERRY_SERVER`` and ``FERRY_TOKEN``, in the pods it runs for a tenant);
``FERRY_GATEWAY``, else the context's ``gateway``, is the serving gateway.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Credentials", "default_config_path", "load_config", "resolve"]


class ConfigError(ValueError):
    """The config file cannot be read or names no usable context."""


@dataclass(frozen=True)
class Credentials:
    """A server's base URL and the token to use with it (empty: none), the default tenant and the gateway."""

    server: str
    token: str
    tenant: str = ""
    gateway: str = ""


def default_config_path() -> Path:
    """The CLI's config file (cli/root.go defaultConfigPath: os.UserConfigDir()/ferry/config.yaml)."""
    if p := os.environ.get("FERRY_CONFIG"):
        return Path(p)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ferry" / "config.yaml"


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads the CLI's config ({current, contexts: [{name, server, token}]}); a missing file is empty."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"read config {path}: {e}") from e
    try:
        data = _parse_yaml(text)
    except ValueError as e:
        raise ConfigError(f"parse config {path}: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"parse config {path}: not a mapping")
    return data


def resolve(
    server: str | None = None,
    token: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    context: str | None = None,
    gateway: str | None = None,
) -> Credentials:
    """The server and token a Client uses (see the module's documentation for the order)."""
    server = server or os.environ.get("FERRY_SERVER") or None
    if token is None:
        token = os.environ.get("FERRY_TOKEN") or None
    tenant = os.environ.get("FERRY_TENANT", "").strip()
    gateway = (gateway or os.environ.get("FERRY_GATEWAY") or "").rstrip("/")
    if server and token is not None:
        return Credentials(server.rstrip("/"), token.strip(), tenant, gateway)
    cfg = load_config(config_path if config_path is not None else default_config_path())
    name = context or os.environ.get("FERRY_CONTEXT") or cfg.get("current") or ""
    ctx: dict[str, Any] = {}
    if name:
        for c in cfg.get("contexts") or []:
            if isinstance(c, dict) and c.get("name") == name:
                ctx = c
                break
        else:
            if context or os.environ.get("FERRY_CONTEXT"):
                raise ConfigError(f"no context {name!r} in the config; run `ferry login --context {name} ...`")
    ctx_server = str(ctx.get("server") or "").rstrip("/")
    if not server:
        if not ctx_server:
            hint = ""
            if os.environ.get("MLFLOW_RUN_ID") and os.environ.get("MLFLOW_TRACKING_URI"):
                # a job's or a pipeline step's pod: its token is scoped to its run, on /mlflow/ only
                hint = ("; in a job's or step's pod, the pod's token (MLFLOW_TRACKING_TOKEN) writes only to its "
                        "run: use ferry.log_metric, log_param, log_artifact and register_model, or give a token")
            raise ConfigError(
                "no ferry server: pass Client(server=...), set FERRY_SERVER, "
                "or run `ferry login --server URL --token TOKEN` (or `ferry up`)" + hint
            )
        server = ctx_server
    server = server.rstrip("/")
    if token is None:
        token = str(ctx.get("token") or "") if server == ctx_server else ""
    if not gateway and server == ctx_server:
        gateway = str(ctx.get("gateway") or "").rstrip("/")
    return Credentials(server, token.strip(), tenant, gateway)


# The CLI writes its config with sigs.k8s.io/yaml (block style). Debian's
# python3-yaml reads it when installed; otherwise a reader of the block subset
# that the CLI writes (mappings, lists of mappings, plain or quoted scalars).


def _parse_yaml(text: str) -> Any:
    try:
        yaml: Any = importlib.import_module("yaml")  # Debian ships no type stubs for it
    except ImportError:
        return _parse_block(text)
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ValueError(str(e)) from e


def _parse_block(text: str) -> Any:
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.rstrip()
        if not s.strip() or s.lstrip().startswith("#") or s.strip() == "---":
            continue
        if "\t" in s[: len(s) - len(s.lstrip())]:
            raise ValueError(f"line {n}: tab in indentation")
        lines.append((n, len(s) - len(s.lstrip()), s.strip()))
    if not lines:
        return {}
    value, i = _node(lines, 0, lines[0][1])
    if i != len(lines):
        raise ValueError(f"line {lines[i][0]}: unexpected indentation")
    return value


def _node(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][2].startswith("- ") or lines[i][2] == "-":
        out: list[Any] = []
        while i < len(lines) and lines[i][1] == indent and (lines[i][2].startswith("- ") or lines[i][2] == "-"):
            n, _, s = lines[i]
            rest = s[1:].lstrip()
            if not rest:
                item, i = _node(lines, i + 1, lines[i + 1][1]) if i + 1 < len(lines) and lines[i + 1][1] > indent else (None, i + 1)
            else:
                # "- key: value" starts a mapping whose keys sit at the column after "- ".
                col = indent + (len(s) - len(rest))
                lines[i] = (n, col, rest)
                item, i = _node(lines, i, col)
            out.append(item)
        return out, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][1] == indent:
        n, _, s = lines[i]
        m = re.match(r'^("(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'|[^:#][^:]*?)\s*:(?:\s+(.*))?$', s)
        if not m:
            raise ValueError(f"line {n}: not a `key: value` line: {s!r}")
        key, rest = _scalar(m.group(1), n), m.group(2)
        i += 1
        if rest is None or rest == "":
            if i < len(lines) and (lines[i][1] > indent or (lines[i][1] == indent and lines[i][2].startswith("-"))):
                mapping[key], i = _node(lines, i, lines[i][1])
            else:
                mapping[key] = None
        else:
            mapping[key] = _scalar(rest, n)
    return mapping, i


def _scalar(s: str, n: int) -> Any:
    if s.startswith('"'):
        try:
            return json.loads(s)
        except ValueError as e:
            raise ValueError(f"line {n}: bad double-quoted string") from e
    if s.startswith("'"):
        if not s.endswith("'") or len(s) < 2:
            raise ValueError(f"line {n}: bad single-quoted string")
        return s[1:-1].replace("''", "'")
    if s in ("[]", "{}"):
        return [] if s == "[]" else {}
    if s[0] in "[{&*!|>%@`":
        raise ValueError(f"line {n}: this reader knows only plain and quoted scalars (install python3-yaml)")
    s = re.sub(r"\s+#.*$", "", s)
    if s in ("null", "~"):
        return None
    if s in ("true", "false"):
        return s == "true"
    return s
