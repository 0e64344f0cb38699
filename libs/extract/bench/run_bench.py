#!/usr/bin/env python3
"""Benchmark the extraction engine on labelled documents: field accuracy, time per page, peak memory.

usage: run_bench.py [BENCH_DIR] [--cases invoice2data/cases.json] [--out predictions.json] [--only NAME]
                    [--skip-images] [--scans] [--ocr ENGINE] [--backend NAME] [--details] [--json FILE]

Every case goes through the command's own code path (``fieldstone.extract.cli.extract_file``), the
predictions are scored with the benchmark's reference ``score.py``, and the report gives field accuracy
(exact and lenient, by type), time per page (text pages and OCR pages apart, median and p95) and the
process's peak RSS. ``--scans`` adds an image-only "scanned" copy of every PDF case (rendered at 200 dpi,
grey, rotated 0.6 degrees, noisy, JPEG) so the OCR path is measured on more than the PNG cases.

BENCH_DIR defaults to $FIELDSTONE_BENCHMARKS or the nearest ``shared/benchmarks`` above this file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fieldstone.extract import ExtractError
from fieldstone.extract.cli import extract_file
from fieldstone.extract.reading import ocr

HERE = Path(__file__).resolve().parent


def _default_bench_dir() -> Path:
    env = os.environ.get("FIELDSTONE_BENCHMARKS")
    if env:
        return Path(env)
    for parent in HERE.parents:
        candidate = parent / "shared" / "benchmarks"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/benchmarks")


def _load_scorer(bench_dir: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_score", bench_dir / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no score.py in {bench_dir}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emit(line: str = "") -> None:
    """Write one line of the report to stdout (this is a command-line tool)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the tesseract command)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _scan_cases(cases: list[dict[str, Any]], root: Path, tmp: Path) -> list[dict[str, Any]]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from fs_extract_corpus import scan

    out = []
    for case in cases:
        name = case["document"]
        if not name.lower().endswith(".pdf"):
            continue
        scanned = tmp / (name[:-4] + ".scan.pdf")
        scanned.write_bytes(scan((root / name).read_bytes()))
        out.append({**case, "document": scanned.name, "_path": str(scanned)})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench_dir", nargs="?", type=Path, default=None)
    ap.add_argument("--cases", default="invoice2data/cases.json")
    ap.add_argument("--out", type=Path, default=None, help="write the predictions JSON here")
    ap.add_argument("--only", default=None, help="only documents whose name contains this")
    ap.add_argument("--skip-images", action="store_true", help="skip PNG/JPEG cases")
    ap.add_argument("--scans", action="store_true", help="add an image-only scan of every PDF case")
    ap.add_argument("--ocr", choices=ocr.ENGINE_NAMES, default=None, help="OCR engine (default: auto)")
    ap.add_argument("--backend", default=None, help="extraction backend (default: builtin)")
    ap.add_argument("--details", action="store_true", help="print expected vs predicted for misses")
    ap.add_argument("--json", type=Path, default=None, help="write the summary as JSON here")
    args = ap.parse_args()

    bench_dir = args.bench_dir or _default_bench_dir()
    cases_path = bench_dir / args.cases
    root = cases_path.parent
    cases: list[dict[str, Any]] = json.loads(cases_path.read_text(encoding="utf-8"))
    if args.skip_images:
        cases = [c for c in cases if not c["document"].lower().endswith((".png", ".jpg", ".jpeg"))]
    tmp = Path(tempfile.mkdtemp(prefix="fs-bench-"))
    if args.scans:
        cases = cases + _scan_cases(cases, root, tmp)
    if args.only:
        cases = [c for c in cases if args.only in c["document"]]
    scorer = _load_scorer(bench_dir)

    # Load the OCR engine before timing: a service loads it once, not per page.
    t0 = time.perf_counter()
    if args.ocr:
        ocr.use_engine(args.ocr)
    engine = ocr.engine_name() or f"none ({ocr.ocr_unavailable_reason()})"
    load_s = time.perf_counter() - t0

    predictions: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    text_ms: list[float] = []
    ocr_ms: list[float] = []
    cpu_ms: dict[str, list[float]] = {"text pages": [], "OCR pages": []}
    for case in cases:
        name = case["document"]
        path = Path(case.get("_path") or root / name)
        t, c = time.perf_counter(), _cpu()
        try:
            out = extract_file(path, case["variables"], backend=args.backend)
            predictions[name] = out.extracted_data
        except ExtractError as exc:
            predictions[name] = None
            errors[name] = f"{exc.code}: {exc.message}"
            seconds[name] = time.perf_counter() - t
            continue
        seconds[name] = elapsed = time.perf_counter() - t
        cpu = (_cpu() - c) * 1000
        # Time per page: the page's own reading (and OCR) plus an equal share of the rest.
        pages = out.pages or []
        rest = elapsed * 1000 - sum(p.ms for p in pages)
        for p in pages:
            (ocr_ms if p.ocr else text_ms).append(p.ms + rest / max(len(pages), 1))
            # CPU time (this process and OCR subprocesses) is shared out in proportion to wall time.
            share = (p.ms + rest / max(len(pages), 1)) / max(elapsed * 1000, 1e-9)
            cpu_ms["OCR pages" if p.ocr else "text pages"].append(cpu * share)

    report = scorer.score([{k: v for k, v in c.items() if k != "_path"} for c in cases], predictions)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(predictions, indent=2, ensure_ascii=False), encoding="utf-8")

    emit(f"{'document':32} {'fields':>6} {'exact':>6} {'lenient':>7} {'seconds':>8}")
    for name, row in report["per_document"].items():
        note = f"  FAILED {errors[name]}" if name in errors else ""
        emit(
            f"{name:32} {row['fields']:>6} {row['exact']:>6} {row['lenient']:>7} {seconds[name]:>8.2f}{note}"
        )
    emit()
    emit(f"{'type':10} {'fields':>6} {'exact%':>7} {'lenient%':>9}")
    for vtype, row in report["by_type"].items():
        emit(f"{vtype:10} {row['fields']:>6} {row['exact_pct']:>7} {row['lenient_pct']:>9}")
    emit()
    emit(f"documents {report['documents']}  fields {report['fields']}  extra rows {report['extra_rows']}")
    emit(f"exact {report['exact_pct']}%  lenient {report['lenient_pct']}%")
    emit()
    emit(f"OCR engine: {engine} (loaded in {load_s:.2f} s, not counted below)")
    summary: dict[str, Any] = {
        "exact_pct": report["exact_pct"],
        "lenient_pct": report["lenient_pct"],
        "by_type": report["by_type"],
        "ocr_engine": engine,
    }
    emit(f"{'time per page':14} {'count':>5} {'median':>10} {'p95':>10} {'CPU median':>11} {'CPU p95':>10}")
    for label, values in (("text pages", text_ms), ("OCR pages", ocr_ms)):
        if values:
            med, p95 = statistics.median(values), percentile(values, 95)
            cmed, cp95 = statistics.median(cpu_ms[label]), percentile(cpu_ms[label], 95)
            emit(f"{label:14} {len(values):>5} {med:>8.1f}ms {p95:>8.1f}ms {cmed:>9.1f}ms {cp95:>8.1f}ms")
            summary[label.replace(" ", "_")] = {
                "count": len(values),
                "median_ms": med,
                "p95_ms": p95,
                "cpu_median_ms": cmed,
                "cpu_p95_ms": cp95,
            }
        else:
            emit(f"{label:14} {0:>5} {'-':>10} {'-':>10}")
    emit("(wall time on this machine as it is; CPU time shows the work when other processes compete)")
    own, children = peak_rss_mb()
    emit(
        f"peak RSS: {own:.0f} MB (this process){f', {children:.0f} MB (OCR subprocess)' if children else ''}"
    )
    summary["peak_rss_mb"] = own
    summary["peak_rss_children_mb"] = children
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")

    if args.details:
        for case in cases:
            pred = predictions.get(case["document"]) or {}
            emit(f"\n== {case['document']}")
            for key, expected in case["expected"].items():
                got = pred.get(key)
                same = json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
                mark = "ok " if same else "-- "
                emit(f"  {mark}{key}: expected {json.dumps(expected, ensure_ascii=False)[:120]}")
                if not same:
                    emit(f"       got      {json.dumps(got, ensure_ascii=False)[:120]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
