"""Extraction backends: what turns a read document and a template into data.

Reading (PDF text layer, OCR, plain text) is shared; a backend only decides the values. ``builtin`` is
the offline, deterministic engine of this package and the default. Another backend, for example one that
asks an OpenAI-compatible LLM, is added without changing callers:

* in code: ``register_backend("llm", LlmBackend)`` before calling ``extract(..., backend="llm")``;
* as a plug-in package: an entry point in the group ``fieldstone.extract.backends`` whose name is the
  backend's name and whose object is a zero-argument factory (usually the class). It is loaded the first
  time that name is asked for, and ``fieldstone-extract --backend NAME`` offers it.

A backend receives an :class:`ExtractionRequest` (the positioned words of the selected pages, the
validated template and the original bytes) and returns an :class:`BackendResult` whose
``extracted_data`` has exactly the template's shape (null for what it did not find) and a
:class:`~fieldstone.extract.models.FieldResult` per leaf. It raises
:class:`~fieldstone.extract.errors.ExtractError` only for document-level failures. The engine adds
``missingRequired``, page information and timings, so callers see the same output whatever the backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from fieldstone.extract.layout import Document
from fieldstone.extract.models import FieldResult, Variable

DEFAULT_BACKEND = "builtin"
ENTRY_POINT_GROUP = "fieldstone.extract.backends"


@dataclass(frozen=True, slots=True)
class ExtractionRequest:
    """Everything a backend may look at. New attributes may be added; existing ones stay."""

    document: Document  # the selected pages with positioned words and lines (text layer or OCR)
    template: list[Variable]
    data: bytes  # the original document, for backends that look at the pages themselves
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        """The selected pages as plain text, one line per visual line, pages separated by form feeds."""
        return "\f".join("\n".join(line.text for line in page.lines) for page in self.document.pages)


@dataclass(slots=True)
class BackendResult:
    extracted_data: dict[str, Any]
    fields: list[FieldResult]


@runtime_checkable
class Backend(Protocol):
    """An extraction backend; it must be safe to call from several threads."""

    name: str

    def extract(self, request: ExtractionRequest) -> BackendResult: ...


class BuiltinBackend:
    """Labels, layout and typed value parsers (this package): offline and deterministic."""

    name = "builtin"

    def extract(self, request: ExtractionRequest) -> BackendResult:
        from fieldstone.extract.engine import extract_from_document

        data, fields = extract_from_document(request.document, request.template)
        return BackendResult(data, fields)


_LOCK = threading.Lock()
_factories: dict[str, Callable[[], Backend]] = {"builtin": BuiltinBackend}
_instances: dict[str, Backend] = {}


def register_backend(name: str, factory: Callable[[], Backend], *, replace: bool = False) -> None:
    """Make ``factory()`` available as backend ``name`` (created once, on first use)."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"invalid backend name {name!r}")
    with _LOCK:
        if name in _factories and not replace:
            raise ValueError(f"backend {name!r} is already registered")
        _factories[name] = factory
        _instances.pop(name, None)


def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    """Registered backends and installed plug-ins, ``builtin`` first."""
    with _LOCK:
        names = set(_factories)
    names.update(_plugins())
    return sorted(names, key=lambda n: (n != DEFAULT_BACKEND, n))


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name`` (default ``builtin``); ``ValueError`` if there is none."""
    name = name or DEFAULT_BACKEND
    with _LOCK:
        if name in _instances:
            return _instances[name]
        factory = _factories.get(name)
    if factory is None:
        plugin = _plugins().get(name)
        if plugin is None:
            raise ValueError(f"unknown extraction backend {name!r}; available: {', '.join(backend_names())}")
        factory = plugin.load()
    backend = factory()
    if not isinstance(backend, Backend):
        raise TypeError(f"backend {name!r} does not implement the Backend protocol")
    with _LOCK:
        return _instances.setdefault(name, backend)
