"""The extraction pipeline: read -> layout -> match variables -> typed, scored output."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from fieldstone.extract import fallbacks, tables
from fieldstone.extract.backends import Backend, ExtractionRequest, get_backend
from fieldstone.extract.dates import DateOrder, numeric_order_evidence
from fieldstone.extract.fields import (
    MIN_SCORE,
    Candidate,
    Context,
    choose,
    label_candidates,
    parser_for,
    to_result,
    value_regions,
)
from fieldstone.extract.labels import FieldSpec, LabelMatcher, LineTokens, build_spec
from fieldstone.extract.layout import Document, Line
from fieldstone.extract.models import ExtractionOutput, FieldResult, PageInfo, Phase, Variable
from fieldstone.extract.reading import read_document
from fieldstone.extract.reading.ocr import engine_name as ocr_engine_name
from fieldstone.extract.values import Decimal, decimal_votes, find_currencies

MAX_TEMPLATE_DEPTH = 8
MAX_TEMPLATE_FIELDS = 2000


def _as_variables(variables: Sequence[Variable | Mapping[str, Any]]) -> list[Variable]:
    out = [v if isinstance(v, Variable) else Variable.model_validate(v) for v in variables]
    keys = [v.key for v in out]
    if len(keys) != len(set(keys)):
        raise ValueError("variable keys must be unique")
    count = 0
    stack = [(v, 1) for v in out]
    while stack:  # iterative, so a hostile template cannot exhaust the recursion limit here
        var, depth = stack.pop()
        count += 1
        if depth > MAX_TEMPLATE_DEPTH or count > MAX_TEMPLATE_FIELDS:
            raise ValueError(
                f"template too large: at most {MAX_TEMPLATE_DEPTH} levels and {MAX_TEMPLATE_FIELDS} variables"
            )
        stack.extend((f, depth + 1) for f in var.fields or [])
    return out


def extract(
    data: bytes,
    variables: Sequence[Variable | Mapping[str, Any]],
    *,
    pages: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    max_pages: int = 500,
    backend: str | Backend | None = None,
) -> ExtractionOutput:
    """Extract the template's variables from a document (PDF, image or plain text).

    ``backend`` names a registered :mod:`~fieldstone.extract.backends` backend (default ``builtin``)
    or is a backend object. Raises :class:`~fieldstone.extract.errors.ExtractError` for documents that
    cannot be processed and ``pydantic.ValidationError`` / ``ValueError`` for an invalid template or an
    unknown backend. Synchronous and CPU-bound.
    """
    started_unix_ns, t0 = time.time_ns(), time.perf_counter()
    template = _as_variables(variables)
    chosen = backend if isinstance(backend, Backend) else get_backend(backend)
    timings: dict[str, float] = {}
    doc = read_document(
        data, pages=pages, filename=filename, content_type=content_type, max_pages=max_pages, timings=timings
    )
    t1 = time.perf_counter()
    request = ExtractionRequest(doc, template, data, filename, content_type)
    result = chosen.extract(request)
    timings["match"] = (time.perf_counter() - t1) * 1000
    timings["total"] = (time.perf_counter() - t0) * 1000
    missing = [r.path for r in result.fields if r.value is None and _is_required(template, r.path)]
    return ExtractionOutput(
        extracted_data=result.extracted_data,
        fields=result.fields,
        page_count=doc.page_count,
        timings_ms=timings,
        missing_required=missing,
        pages=[
            PageInfo(p.number, p.source, p.ocr, p.read_ms, p.note, p.ocr_ms, (p.read_started - t0) * 1000)
            for p in doc.pages
        ],
        backend=chosen.name,
        started_unix_ns=started_unix_ns,
        phases=[Phase("read", 0.0, (t1 - t0) * 1000), Phase("resolve", (t1 - t0) * 1000, timings["match"])],
        ocr_engine=_ocr_family() if any(p.ocr for p in doc.pages) else None,
    )


def _ocr_family() -> str | None:
    name = ocr_engine_name()
    return name.split()[0] if name else None


def _is_required(template: list[Variable], path: str) -> bool:
    """A path is required when every variable along it is required (a required field of an optional
    object only counts once the object exists, which a null leaf already tells)."""
    parts = re.sub(r"\[\d+\]", "", path).split(".")
    level: list[Variable] | None = template
    for part in parts:
        var = next((v for v in level or [] if v.key == part), None)
        if var is None or not var.required:
            return False
        level = var.fields
    return True


# ---------------------------------------------------------------- context


def build_context(doc: Document, specs: list[FieldSpec]) -> Context:
    lines = [LineTokens(line) for line in doc.iter_lines()]
    text = "\n".join(lt.text for lt in lines)
    comma, dot = decimal_votes(text)
    decimal: Decimal | None = "," if comma > dot else "." if dot > comma else None
    dmy, mdy = numeric_order_evidence(text)
    order: DateOrder = "DMY"
    if mdy > dmy:
        order = "MDY"
    elif mdy == dmy == 0:
        codes = {c for c, _, _ in find_currencies(text)}
        if codes == {"USD"}:  # US documents write month first
            order = "MDY"
    by_page: dict[int, list[Line]] = {}
    for line in doc.iter_lines():
        by_page.setdefault(line.page, []).append(line)
    return Context(
        doc=doc,
        lines=lines,
        matcher=LabelMatcher(lines, specs),
        decimal=decimal,
        date_order=order,
        page_heights={p.number: p.height for p in doc.pages},
        lines_by_page=by_page,
    )


def _collect_specs(variables: list[Variable], prefix: str, out: list[FieldSpec]) -> None:
    for var in variables:
        path = f"{prefix}{var.key}"
        if var.type == "object":
            _collect_specs(var.fields or [], f"{path}.", out)
        elif var.type == "array" and var.item_type == "object":
            continue  # tables are matched by their header row, not by labels
        else:
            out.append(build_spec(path, var))


def extract_from_document(
    doc: Document, template: list[Variable]
) -> tuple[dict[str, Any], list[FieldResult]]:
    specs: list[FieldSpec] = []
    _collect_specs(template, "", specs)
    ctx = build_context(doc, specs)
    by_path = {s.path: s for s in specs}
    no_text = _no_text_reason(doc)
    results: list[FieldResult] = []
    data = {var.key: _extract_var(var, var.key, ctx, by_path, results, no_text) for var in template}
    return data, results


def _no_text_reason(doc: Document) -> str | None:
    if any(p.lines for p in doc.pages):
        return None
    notes = [p.note for p in doc.pages if p.note]
    return "; ".join(notes[:3]) if notes else "the document contains no text"


def _extract_var(
    var: Variable,
    path: str,
    ctx: Context,
    by_path: dict[str, FieldSpec],
    results: list[FieldResult],
    no_text: str | None,
) -> Any:
    if var.type == "object":
        return {
            f.key: _extract_var(f, f"{path}.{f.key}", ctx, by_path, results, no_text)
            for f in var.fields or []
        }
    if var.type == "array" and var.item_type == "object":
        if no_text:
            results.append(FieldResult(path, None, 0.0, reason=no_text))
            return None
        rows, row_results = tables.extract_rows(var, path, ctx)
        if not rows:
            results.append(
                FieldResult(path, None, 0.0, reason="no table or list matching the item fields found")
            )
            return None
        results.extend(row_results)
        return rows
    spec = by_path[path]
    if no_text:
        results.append(FieldResult(path, None, 0.0, reason=no_text))
        return None
    if var.type == "array":
        return _extract_scalar_array(spec, ctx, results)
    cands = label_candidates(spec, ctx)
    best, conf = choose(cands)
    if best is not None and best.score < MIN_SCORE:
        best, conf = None, 0.0
    fb = fallbacks.fallback(spec, ctx)
    if fb is not None and (best is None or fb.score > conf):
        best, conf = fb, fb.score
    if best is None:
        reason = _missing_reason(spec)
        results.append(to_result(path, None, 0.0, reason))
        return None
    value = _coerce(best.value, var.type)
    best.value = value
    results.append(to_result(path, best, conf, None))
    return value


def _missing_reason(spec: FieldSpec) -> str:
    if spec.concept is not None:
        return f"no {spec.concept.name.replace('_', ' ')} label with a readable {spec.var.type} value found"
    return f"no label matching {spec.var.key!r} with a readable {spec.var.type} value found"


def _coerce(value: Any, vtype: str) -> Any:
    """Keep the output type exactly as the variable says."""
    if vtype == "string" and not isinstance(value, str):
        return str(value)
    if vtype == "number" and isinstance(value, str):
        return None
    return value


def _extract_scalar_array(spec: FieldSpec, ctx: Context, results: list[FieldResult]) -> list[Any] | None:
    """Arrays of strings/numbers: the values after the best label, split on commas/semicolons."""
    parse = parser_for(spec)
    best: tuple[float, list[Candidate]] | None = None
    for lt in ctx.lines:
        for hit, weight in ctx.matcher.hits_for(spec, lt.line):
            for region, placement in value_regions(hit, ctx):
                items: list[Candidate] = []
                text = region.text
                pos = 0
                for part in re.split(r"[;,]\s+|\s+[|/]\s+", text):
                    start = text.find(part, pos)
                    pos = start + len(part)
                    parsed = parse(part, ctx)
                    if parsed is None:
                        continue
                    value, s, e, quality = parsed
                    bbox, src = region.sub(start + s, start + e)
                    items.append(Candidate(value, weight * placement * quality, lt.line.page, bbox, src))
                if items:
                    score = weight * placement
                    if best is None or score > best[0]:
                        best = (score, items)
                    break
    if best is None:
        results.append(to_result(spec.path, None, 0.0, _missing_reason(spec)))
        return None
    values = []
    for i, cand in enumerate(best[1]):
        cand.value = _coerce(cand.value, spec.var.item_type)
        values.append(cand.value)
        results.append(to_result(f"{spec.path}[{i}]", cand, cand.score, None))
    return values
