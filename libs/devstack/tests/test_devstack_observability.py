"""The local stack's metrics ports and span files, and the trace printer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldstone.devstack import SERVICES, Profile, Stack
from fieldstone.devstack.traces import by_trace, load_dir, render


def test_every_service_gets_a_metrics_port_of_its_own(tmp_path: Path) -> None:
    profile = Profile(state_dir=tmp_path, http_port=18080, grpc_base=18100)
    ports = {s: profile.metrics_port(s) for s in SERVICES}
    assert ports["gateway"] == 18080
    assert len(set(ports.values())) == len(SERVICES)
    assert not set(ports.values()) & {profile.grpc_port(s) for s in SERVICES if s != "gateway"}
    env = Stack(profile).env("webhooks")
    assert env["WEBHOOKS_METRICS_PORT"] == str(ports["webhooks"])
    assert "FIELDSTONE_TRACES_FILE" not in env


def test_one_switch_writes_every_service_s_spans_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDSTONE_TRACING", "file")
    profile = Profile.from_env(state_dir=tmp_path)
    env = Stack(profile).env("gateway")
    assert env["FIELDSTONE_TRACES_FILE"] == str((tmp_path / "traces" / "gateway.jsonl").resolve())


def _span(
    name: str, span_id: str, parent: str | None, service: str, start: str, kind: str = "INTERNAL"
) -> str:
    return json.dumps(
        {
            "name": name,
            "context": {"trace_id": "0x" + "ab" * 16, "span_id": "0x" + span_id},
            "kind": f"SpanKind.{kind}",
            "parent_id": "0x" + parent if parent else None,
            "start_time": f"2026-01-01T00:00:0{start}Z",
            "end_time": "2026-01-01T00:00:09Z",
            "status": {"status_code": "UNSET"},
            "attributes": {},
            "links": [],
            "resource": {"attributes": {"service.name": f"fieldstone-{service}"}},
        }
    )


def test_traces_print_as_trees_across_services(tmp_path: Path) -> None:
    (tmp_path / "gateway.jsonl").write_text(
        _span("POST /v1/extractions", "01" * 8, None, "gateway", "1", "SERVER") + "\n"
    )
    (tmp_path / "extraction.jsonl").write_text(
        _span("process fieldstone.extraction-jobs.v1", "02" * 8, "01" * 8, "extraction", "2", "CONSUMER")
        + "\n{not json\n"
    )
    spans = load_dir(tmp_path)
    assert len(by_trace(spans)) == 1
    lines = render(spans).splitlines()
    assert lines[0].startswith("trace " + "ab" * 16) and "extraction, gateway" in lines[0]
    assert "gateway     POST /v1/extractions [server]" in lines[1]
    assert "extraction    process fieldstone.extraction-jobs.v1 [consumer]" in lines[2]
