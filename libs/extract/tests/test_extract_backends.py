"""The backend interface: builtin by default, others registered in code or by entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fs_extract_pdfs import INVOICE_VARIABLES

from fieldstone.extract import (
    Backend,
    BackendResult,
    ExtractionRequest,
    FieldResult,
    backend_names,
    extract,
    get_backend,
    register_backend,
)
from fieldstone.extract import backends as backends_mod
from fieldstone.extract.cli import main


class EchoBackend:
    """What an LLM backend would do, without the LLM: read request.text, fill the template's shape."""

    name = "echo"

    def __init__(self) -> None:
        self.requests: list[ExtractionRequest] = []

    def extract(self, request: ExtractionRequest) -> BackendResult:
        self.requests.append(request)
        data: dict[str, Any] = {v.key: None for v in request.template}
        data["invoice_number"] = "ECHO" if "INV-2024-003" in request.text else None
        fields = [FieldResult(k, v, 1.0 if v else 0.0) for k, v in data.items()]
        return BackendResult(data, fields)


@pytest.fixture
def echo() -> Iterator[EchoBackend]:
    backend = EchoBackend()
    register_backend("echo", lambda: backend, replace=True)
    yield backend
    with backends_mod._LOCK:
        backends_mod._factories.pop("echo", None)
        backends_mod._instances.pop("echo", None)


def test_builtin_is_the_default(invoice_pdf: bytes) -> None:
    assert backend_names()[0] == "builtin"
    builtin = get_backend()
    assert isinstance(builtin, Backend) and builtin.name == "builtin" and get_backend("builtin") is builtin
    out = extract(invoice_pdf, INVOICE_VARIABLES)
    assert out.backend == "builtin" and out.to_dict()["backend"] == "builtin"


def test_a_registered_backend_is_used_by_name(invoice_pdf: bytes, echo: EchoBackend) -> None:
    assert "echo" in backend_names()
    variables = [*INVOICE_VARIABLES[:2], {**INVOICE_VARIABLES[1], "key": "other", "required": True}]
    out = extract(invoice_pdf, variables, backend="echo")
    assert out.extracted_data == {"vendor_name": None, "invoice_number": "ECHO", "other": None}
    assert out.backend == "echo"
    # The engine still adds what callers rely on, whatever the backend.
    assert out.missing_required == ["vendor_name", "other"]
    assert out.page_count == 1 and out.pages[0].source == "pdf"
    assert {"read", "match", "total"} <= set(out.timings_ms)
    request = echo.requests[-1]
    assert request.data == invoice_pdf and [v.key for v in request.template] == [
        "vendor_name",
        "invoice_number",
        "other",
    ]
    assert "Invoice Number: INV-2024-003" in request.text


def test_a_backend_object_can_be_passed(invoice_pdf: bytes) -> None:
    out = extract(invoice_pdf, INVOICE_VARIABLES[:2], backend=EchoBackend())
    assert out.extracted_data["invoice_number"] == "ECHO"


def test_unknown_backend_and_bad_registrations(invoice_pdf: bytes, echo: EchoBackend) -> None:
    with pytest.raises(ValueError, match="unknown extraction backend"):
        extract(invoice_pdf, INVOICE_VARIABLES, backend="nope")
    with pytest.raises(ValueError, match="already registered"):
        register_backend("echo", EchoBackend)
    with pytest.raises(ValueError, match="invalid backend name"):
        register_backend("bad name!", EchoBackend)


def test_entry_point_plugins_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeEntryPoint:
        name = "plugin"

        def load(self) -> Any:
            return EchoBackend

    monkeypatch.setattr(
        backends_mod,
        "entry_points",
        lambda group: [FakeEntryPoint()] if group == backends_mod.ENTRY_POINT_GROUP else [],
    )
    try:
        assert "plugin" in backend_names()
        assert isinstance(get_backend("plugin"), EchoBackend)
    finally:
        backends_mod._instances.pop("plugin", None)


def test_cli_backend_option(
    tmp_path: Path, invoice_pdf: bytes, echo: EchoBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "inv.pdf"
    pdf.write_bytes(invoice_pdf)
    template = tmp_path / "tpl.json"
    template.write_text(json.dumps(INVOICE_VARIABLES[:2]))
    assert main([str(pdf), "-t", str(template), "--backend", "echo", "--compact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backend"] == "echo" and out["extractedData"]["invoice_number"] == "ECHO"
    assert main([str(pdf), "-t", str(template)]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "builtin"
    with pytest.raises(SystemExit):
        main([str(pdf), "-t", str(template), "--backend", "nope"])
