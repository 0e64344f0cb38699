#!/usr/bin/env python3
"""Compare the OCR engines on the same page images: field accuracy, word recall, time, peak memory.

usage: compare_ocr.py [BENCH_DIR] [--engines tesseract,rapidocr]

Page images: the benchmark's PNG cases, an image-only scan (200 dpi, grey, slightly rotated, noisy,
JPEG) of every benchmark PDF, and scans of the generated corpus in tests/fs_extract_corpus.py.
Each engine runs in its own process so that its peak RSS is its own. Word recall is measured against
the text layer of the PDF the image was made from.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))


def _words(data: bytes) -> collections.Counter[str]:
    from fieldstone.extract.normalize import tokens
    from fieldstone.extract.reading import read_document

    doc = read_document(data, use_ocr=False)
    return collections.Counter(t for line in doc.iter_lines() for t in tokens(line.text))


def _recall(truth: collections.Counter[str], got: collections.Counter[str]) -> float:
    total = sum(truth.values())
    return sum((truth & got).values()) / total if total else 0.0


def worker(engine: str, bench_dir: Path) -> dict[str, Any]:
    import fs_extract_corpus as corpus
    from run_bench import _cpu, _load_scorer, peak_rss_mb, percentile

    from fieldstone.extract import Variable
    from fieldstone.extract.engine import extract_from_document
    from fieldstone.extract.normalize import tokens
    from fieldstone.extract.reading import ocr, read_document

    t0 = time.perf_counter()
    ocr.use_engine(engine)
    load_s = time.perf_counter() - t0
    root = bench_dir / "invoice2data"
    cases = json.loads((root / "cases.json").read_text(encoding="utf-8"))
    scorer = _load_scorer(bench_dir)
    items: list[tuple[str, bytes, bytes, Any, Any]] = []  # name, image doc, truth pdf, case|corpus doc
    for case in cases:
        name = case["document"]
        if name.endswith(".png"):
            pdf = (root / (name[:-4] + ".pdf")).read_bytes()
            items.append((name, (root / name).read_bytes(), pdf, case, None))
        elif name.endswith(".pdf"):
            pdf = (root / name).read_bytes()
            items.append((name[:-4] + ".scan.pdf", corpus.scan(pdf), pdf, case, None))
    for make in corpus.TEXT_DOCS:
        doc = make()
        items.append((doc.name + ".scan.pdf", corpus.scan(doc.data, seed=len(doc.name)), doc.data, None, doc))

    per_page: list[float] = []
    cpu_page: list[float] = []
    recalls: list[float] = []
    bench_cases, predictions = [], {}
    corpus_ok = corpus_total = 0
    for name, data, pdf, case, cdoc in items:
        truth = _words(pdf)
        variables = [Variable.model_validate(v) for v in (case["variables"] if case else cdoc.variables)]
        t, c = time.perf_counter(), _cpu()
        read = read_document(data)
        extracted, _ = extract_from_document(read, variables)
        elapsed, cpu = time.perf_counter() - t, _cpu() - c
        per_page.extend([elapsed / max(len(read.pages), 1)] * len(read.pages))
        cpu_page.extend([cpu / max(len(read.pages), 1)] * len(read.pages))
        recalls.append(
            _recall(truth, collections.Counter(t for ln in read.iter_lines() for t in tokens(ln.text)))
        )
        if case:
            bench_cases.append({**case, "document": name})
            predictions[name] = extracted
        else:
            ok, total, _ = corpus.score(cdoc.expected, extracted)
            corpus_ok, corpus_total = corpus_ok + ok, corpus_total + total
    report = scorer.score(bench_cases, predictions)
    own, children = peak_rss_mb()
    return {
        "engine": ocr.engine_name(),
        "load_s": load_s,
        "pages": len(per_page),
        "median_s": statistics.median(per_page),
        "p95_s": percentile(per_page, 95),
        "cpu_median_s": statistics.median(cpu_page),
        "word_recall": statistics.fmean(recalls),
        "bench_exact": report["exact_pct"],
        "bench_lenient": report["lenient_pct"],
        "bench_fields": report["fields"],
        "corpus_exact": round(100 * corpus_ok / max(corpus_total, 1), 1),
        "corpus_fields": corpus_total,
        "peak_rss_mb": max(own, children),
    }


def main() -> int:
    from run_bench import _default_bench_dir, emit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench_dir", nargs="?", type=Path, default=None)
    ap.add_argument("--engines", default="tesseract,rapidocr")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    bench_dir = args.bench_dir or _default_bench_dir()
    if args.worker:
        emit(json.dumps(worker(args.worker, bench_dir)))
        return 0
    rows = []
    for engine in args.engines.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, str(bench_dir), "--worker", engine],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            emit(f"{engine}: failed\n{proc.stderr[-2000:]}")
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    emit(
        "| engine | pages | s/page median | p95 | CPU s/page | load s | word recall | bench fields exact "
        "| corpus scans exact | peak RSS |"
    )
    emit("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        emit(
            f"| {r['engine']} | {r['pages']} | {r['median_s']:.2f} | {r['p95_s']:.2f} | {r['cpu_median_s']:.2f} "
            f"| {r['load_s']:.1f} "
            f"| {100 * r['word_recall']:.1f} % | {r['bench_exact']} % of {r['bench_fields']} "
            f"| {r['corpus_exact']} % of {r['corpus_fields']} | {r['peak_rss_mb']:.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
