"""Reading the spans the local stack writes with FIELDSTONE_TRACES_FILE, and printing them as trees.

`fieldstone-stack traces` prints every trace (or one, by id) of `.stack/traces/*.jsonl` as a tree:
service, span name, kind and duration, with links to spans of other traces marked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


def _hex(value: str | None) -> str | None:
    return value[2:] if value and value.startswith("0x") else value


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL
    service: str
    start: datetime
    end: datetime
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)
    links: tuple[tuple[str, str], ...] = ()  # (trace id, span id) of each link

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start).total_seconds() * 1000

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SpanRecord:
        def moment(text: str) -> datetime:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))

        return cls(
            trace_id=str(_hex(raw["context"]["trace_id"])),
            span_id=str(_hex(raw["context"]["span_id"])),
            parent_id=_hex(raw.get("parent_id")),
            name=raw["name"],
            kind=str(raw.get("kind", "")).removeprefix("SpanKind."),
            service=str(raw.get("resource", {}).get("attributes", {}).get("service.name", "?")),
            start=moment(raw["start_time"]),
            end=moment(raw["end_time"]),
            status=str(raw.get("status", {}).get("status_code", "UNSET")),
            attributes=dict(raw.get("attributes") or {}),
            links=tuple(
                (str(_hex(link["context"]["trace_id"])), str(_hex(link["context"]["span_id"])))
                for link in raw.get("links") or []
            ),
        )


def load_spans(paths: Iterable[Path]) -> list[SpanRecord]:
    """Every span in the given JSON-lines files (a line cut short by a running writer is skipped)."""
    spans = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                spans.append(SpanRecord.from_json(json.loads(line)))
            except (ValueError, KeyError):
                continue
    return spans


def load_dir(directory: Path) -> list[SpanRecord]:
    return load_spans(sorted(directory.glob("*.jsonl")))


def by_trace(spans: Iterable[SpanRecord]) -> dict[str, list[SpanRecord]]:
    traces: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return dict(traces)


def render_trace(spans: list[SpanRecord]) -> str:
    """One trace as an indented tree, children in start order."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        children[span.parent_id if span.parent_id in ids else None].append(span)
    lines: list[str] = []

    def walk(span: SpanRecord, depth: int) -> None:
        service = span.service.removeprefix("fieldstone-")
        link = "  ↔ linked" if span.links else ""
        error = "  ERROR" if span.status == "ERROR" else ""
        lines.append(
            f"{span.duration_ms:9.1f} ms  {service:<11} {'  ' * depth}{span.name} [{span.kind.lower()}]{link}{error}"
        )
        for child in sorted(children.get(span.span_id, []), key=lambda s: s.start):
            walk(child, depth + 1)

    for root in sorted(children[None], key=lambda s: s.start):
        walk(root, 0)
    return "\n".join(lines)


def render(spans: list[SpanRecord], trace_id: str | None = None, last: int = 10) -> str:
    """The `last` most recent traces (or the one asked for), each under a header line."""
    traces = by_trace(spans)
    if trace_id:
        chosen = [trace_id] if trace_id in traces else []
    else:
        chosen = sorted(traces, key=lambda t: min(s.start for s in traces[t]))[-last:]
    blocks = []
    for tid in chosen:
        members = traces[tid]
        services = sorted({s.service.removeprefix("fieldstone-") for s in members})
        blocks.append(f"trace {tid}  ({len(members)} spans; {', '.join(services)})\n{render_trace(members)}")
    return "\n\n".join(blocks) if blocks else "(no traces)"
