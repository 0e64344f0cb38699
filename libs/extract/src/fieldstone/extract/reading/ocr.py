"""Optional OCR through RapidOCR (ONNX models ship inside its wheel, so it runs offline).

The library works without it: pages that need OCR then come back empty with a note.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

from fieldstone.extract.layout import Word

MAX_OCR_SIDE = 2600
_ENGINE_LOCK = threading.Lock()
_engine: Any = None
_engine_kind: str | None = None
_engine_error: str | None = None


def _load_engine() -> tuple[Any, str | None]:
    global _engine, _engine_kind, _engine_error
    with _ENGINE_LOCK:
        if _engine is not None or _engine_error is not None:
            return _engine, _engine_kind
        try:  # rapidocr >= 2 (better accuracy, keeps spaces between words)
            from rapidocr import RapidOCR  # type: ignore[import-not-found,import-untyped,unused-ignore]

            _quiet()
            _engine, _engine_kind = RapidOCR(), "rapidocr"
            _quiet()
            return _engine, _engine_kind
        except Exception:  # not installed, or its models fail to load
            pass
        try:
            from rapidocr_onnxruntime import RapidOCR as LegacyOCR  # type: ignore[import-not-found,import-untyped,unused-ignore]

            _engine, _engine_kind = LegacyOCR(), "rapidocr_onnxruntime"
        except Exception as exc:
            _engine_error = f"OCR is not available ({type(exc).__name__})"
        return _engine, _engine_kind


def _quiet() -> None:
    """RapidOCR logs every model load at INFO level; a library should not chatter."""
    for name in ("RapidOCR", "rapidocr", "rapidocr_onnxruntime"):
        logging.getLogger(name).setLevel(logging.WARNING)


def ocr_available() -> bool:
    engine, _ = _load_engine()
    return engine is not None


def ocr_unavailable_reason() -> str:
    _load_engine()
    return _engine_error or "OCR is not available"


def ocr_image(image: Any, scale: float) -> list[Word]:
    """OCR a PIL image; boxes are divided by ``scale`` (pixels per output unit)."""
    engine, kind = _load_engine()
    if engine is None:
        return []
    # numpy comes with both OCR packages; imported by name so the library never needs it otherwise.
    np: Any = importlib.import_module("numpy")
    # Detection works on downscaled input anyway; huge scans only cost time and memory.
    longest = max(image.width, image.height)
    if longest > MAX_OCR_SIDE:
        factor = MAX_OCR_SIDE / longest
        image = image.resize((round(image.width * factor), round(image.height * factor)))
        scale *= factor
    array = np.asarray(image.convert("RGB"))
    items: list[tuple[Any, str, float]] = []
    with _ENGINE_LOCK:  # the ONNX sessions are shared; one page at a time keeps memory bounded
        if kind == "rapidocr":
            out = engine(array)
            boxes = getattr(out, "boxes", None)
            txts = getattr(out, "txts", None)
            scores = getattr(out, "scores", None)
            if boxes is not None and txts is not None:
                items = [
                    (b, t, float(s))
                    for b, t, s in zip(boxes, txts, scores or [1.0] * len(txts), strict=False)
                ]
        else:
            result, _elapsed = engine(array)
            items = [(r[0], str(r[1]), float(r[2])) for r in result or []]
    words: list[Word] = []
    for box, text, score in items:
        if score < 0.3 or not text.strip():
            continue
        xs = [float(p[0]) / scale for p in box]
        ys = [float(p[1]) / scale for p in box]
        words.extend(split_line_box(text, min(xs), min(ys), max(xs), max(ys)))
    return words


def split_line_box(text: str, x0: float, y0: float, x1: float, y1: float) -> list[Word]:
    """OCR returns a box per text line: share its width among the words by character count."""
    tokens = text.split()
    if not tokens:
        return []
    total = len(text)
    unit = (x1 - x0) / max(total, 1)
    words: list[Word] = []
    pos = 0
    for token in tokens:
        start = text.index(token, pos)
        end = start + len(token)
        words.append(Word(token, x0 + start * unit, y0, x0 + end * unit, y1))
        pos = end
    return words
