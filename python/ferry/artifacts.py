"""The files of pipeline steps: ``Input[Artifact]`` and ``Output[Artifact]`` parameters of a ``@ferry.step``."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Artifact", "Input", "Output"]

T = TypeVar("T")


class Artifact:
    """A file a step reads (``Input[Artifact]``) or writes (``Output[Artifact]``) at ``path``.

    An Artifact is also a path (``open(data)`` works): in the step's pod an
    input is ``/ferry/inputs/<name>``, an output ``/ferry/outputs/<name>``.
    """

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"Artifact({self.name!r}, {self.path!r})"


class Input(Generic[T]):
    """``Input[Artifact]``: a step parameter that is an upstream step's output file, read-only."""


class Output(Generic[T]):
    """``Output[Artifact]``: a step parameter that is a file the step writes (one of its output artifacts)."""
