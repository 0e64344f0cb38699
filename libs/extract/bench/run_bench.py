#!/usr/bin/env python3
"""

usage: run_bench.py [BENCH_DIR] [--cases invoice2data/cases.json] [--out predictions.json] [--only NAME]
                    [--skip-images] [--details]

BENCH_DIR defaults to $FIELDSTONE_BENCHMARKS or ../../../../shared/benchmarks relative to this file
(/work/shared/benchmarks in the dev layout). Prints per-document and per-type field accuracy.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from fieldstone.extract import ExtractError, extract


def _default_bench_dir() -> Path:
    env = os.environ.get("FIELDSTONE_BENCHMARKS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
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


def emit(line: str) -> None:
    """Write one line of the report to stdout (this is a command-line tool)."""
    sys.stdout.write(line + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench_dir", nargs="?", type=Path, default=None)
    ap.add_argument("--cases", default="invoice2data/cases.json")
    ap.add_argument("--out", type=Path, default=None, help="write the predictions JSON here")
    ap.add_argument("--only", default=None, help="only documents whose name contains this")
    ap.add_argument("--skip-images", action="store_true", help="skip PNG/JPEG cases (no OCR)")
    ap.add_argument("--details", action="store_true", help="print expected vs predicted for misses")
    args = ap.parse_args()

    bench_dir = args.bench_dir or _default_bench_dir()
    cases_path = bench_dir / args.cases
    cases = json.loads(cases_path.read_text(encoding="utf-8"))
    if args.only:
        cases = [c for c in cases if args.only in c["document"]]
    if args.skip_images:
        cases = [c for c in cases if not c["document"].lower().endswith((".png", ".jpg", ".jpeg"))]
    scorer = _load_scorer(bench_dir)

    predictions: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    for case in cases:
        name = case["document"]
        data = (cases_path.parent / name).read_bytes()
        t0 = time.perf_counter()
        try:
            out = extract(data, case["variables"], filename=name)
            predictions[name] = out.extracted_data
        except ExtractError as exc:
            predictions[name] = None
            errors[name] = f"{exc.code}: {exc.message}"
        seconds[name] = time.perf_counter() - t0

    report = scorer.score(cases, predictions)
    if args.out:
        args.out.write_text(json.dumps(predictions, indent=2, ensure_ascii=False), encoding="utf-8")

    emit(f"{'document':32} {'fields':>6} {'exact':>6} {'lenient':>7} {'seconds':>8}")
    for name, row in report["per_document"].items():
        note = f"  FAILED {errors[name]}" if name in errors else ""
        emit(
            f"{name:32} {row['fields']:>6} {row['exact']:>6} {row['lenient']:>7} {seconds[name]:>8.2f}{note}"
        )
    emit("")
    emit(f"{'type':10} {'fields':>6} {'exact%':>7} {'lenient%':>9}")
    for vtype, row in report["by_type"].items():
        emit(f"{vtype:10} {row['fields']:>6} {row['exact_pct']:>7} {row['lenient_pct']:>9}")
    emit("")
    emit(f"documents {report['documents']}  fields {report['fields']}  extra rows {report['extra_rows']}")
    emit(f"exact {report['exact_pct']}%  lenient {report['lenient_pct']}%")

    if args.details:
        for case in cases:
            pred = predictions.get(case["document"]) or {}
            emit(f"\n== {case['document']}")
            for key, expected in case["expected"].items():
                got = pred.get(key)
                mark = (
                    "ok "
                    if json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
                    else "-- "
                )
                emit(f"  {mark}{key}: expected {json.dumps(expected, ensure_ascii=False)[:120]}")
                if mark == "-- ":
                    emit(f"       got      {json.dumps(got, ensure_ascii=False)[:120]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
