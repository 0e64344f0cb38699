"""OCR for images and scanned pages, on the CPU and offline.

Two engines sit behind one small interface (:class:`OcrEngine`):

* ``tesseract`` (default): Tesseract 5 with the Debian language packs (``eng+deu+fra+nld`` by default).
  It runs in-process through ``tesserocr`` (the ``ocr`` extra; its wheel bundles libtesseract and
  loads the models once) or, without it, through the ``tesseract`` command (one process per page,
  ``OMP_THREAD_LIMIT=1``). It gives a box per word.
* ``rapidocr``: RapidOCR 3 (PP-OCR ONNX models inside its wheel) through onnxruntime, with
  ``rapidocr_onnxruntime`` 1.x as a fallback. More accurate on hard scans but about twice as slow and
  5x the memory (see the README for the measurements).

``FIELDSTONE_OCR_ENGINE`` chooses: ``auto`` (default: tesseract, else rapidocr), ``tesseract``,
``rapidocr`` or ``off``; ``FIELDSTONE_OCR_LANGS`` overrides the Tesseract languages (``eng+deu``).
The library works without any engine: pages that need OCR then come back empty with a note.
"""

from __future__ import annotations

import importlib
import io
import logging
import math
import os
import shutil
import statistics
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fieldstone.extract.layout import Word

ENGINE_ENV = "FIELDSTONE_OCR_ENGINE"
LANGS_ENV = "FIELDSTONE_OCR_LANGS"
DEFAULT_LANGS = ("eng", "deu", "fra", "nld")
ENGINE_NAMES = ("auto", "tesseract", "rapidocr", "off")
PSM_ENV = "FIELDSTONE_OCR_PSM"
# Page segmentation 4 ("a single column of text of variable sizes") measured best on invoices: 3 (auto)
# drops lone digits in table columns, 6 (one block) is slower, 11 (sparse) misreads more.
DEFAULT_PSM = "4"

# Tesseract reads text best with capital letters about 20-40 px tall: images are scaled so that
# their resolution lands between these (assumed when the image does not say).
MIN_OCR_DPI = 200
MAX_OCR_DPI = 300
# Never OCR more pixels than this, whatever the resolution (time grows with the pixel count).
MAX_OCR_PIXELS = 6_000_000
MAX_OCR_SIDE = 3500
MIN_WORD_CONF = 0.3
CLI_TIMEOUT_S = 120.0
# Skew below this is left alone; above the maximum it is not a slightly rotated scan.
MIN_SKEW_DEG = 0.15
MAX_SKEW_DEG = 8.0

_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)

log = logging.getLogger(__name__)


class OcrUnavailableError(RuntimeError):
    """The engine cannot run here (package, binary or language data missing)."""


@dataclass(frozen=True, slots=True)
class OcrWord:
    """A recognised word in image pixels; ``line`` groups the words an engine put on one text line."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    conf: float
    line: int


class OcrEngine(Protocol):
    """What the reader needs from an OCR engine. ``recognize`` is called under a lock."""

    name: str

    def recognize(self, image: Any, dpi: float) -> list[OcrWord]:
        """Words of a PIL image (already scaled for OCR; ``dpi`` is its resolution)."""
        ...


# ------------------------------------------------------------------------------------- tesseract


def find_tessdata() -> Path | None:
    """The Tesseract language-data folder: ``TESSDATA_PREFIX`` or the usual system places."""
    env = os.environ.get("TESSDATA_PREFIX")
    candidates = [env, str(Path(env) / "tessdata")] if env else []
    for folder in [*candidates, *_TESSDATA_DIRS]:
        if folder and Path(folder).is_dir() and any(Path(folder).glob("*.traineddata")):
            return Path(folder)
    return None


def _wanted_langs(langs: Sequence[str] | None) -> list[str]:
    if langs:
        return list(langs)
    env = os.environ.get(LANGS_ENV, "").strip()
    return [x for x in env.replace(",", "+").split("+") if x] if env else list(DEFAULT_LANGS)


class TesseractEngine:
    """Tesseract through tesserocr (in-process) or the ``tesseract`` command."""

    def __init__(
        self, langs: Sequence[str] | None = None, *, use_api: bool = True, psm: int | None = None
    ) -> None:
        tessdata = find_tessdata()
        if tessdata is None:
            raise OcrUnavailableError(
                "no Tesseract language data (install tesseract-ocr-eng, -deu, -fra, -nld)"
            )
        have = {p.name.removesuffix(".traineddata") for p in tessdata.glob("*.traineddata")}
        use = [lang for lang in _wanted_langs(langs) if lang in have]
        if not use:
            raise OcrUnavailableError(f"none of the Tesseract languages {_wanted_langs(langs)} is installed")
        missing = [lang for lang in _wanted_langs(langs) if lang not in have]
        if missing:
            log.warning("Tesseract language data missing for %s; using %s", missing, use)
        self.tessdata = tessdata
        self.langs = "+".join(use)
        self.psm = psm if psm is not None else int(os.environ.get(PSM_ENV, DEFAULT_PSM))
        self._api: Any = None
        self._binary: str | None = None
        if use_api:
            try:
                tesserocr: Any = importlib.import_module("tesserocr")
                self._api = tesserocr.PyTessBaseAPI(
                    path=str(tessdata) + os.sep,
                    lang=self.langs,
                    psm=self.psm,
                    oem=tesserocr.OEM.LSTM_ONLY,
                )
                self.name = f"tesseract {tesserocr.tesseract_version().split()[1]} (tesserocr) {self.langs}"
                return
            except ImportError:
                pass
            except RuntimeError as exc:  # tesserocr: models failed to load
                raise OcrUnavailableError(f"Tesseract could not load {self.langs}: {exc}") from None
        self._binary = shutil.which("tesseract")
        if self._binary is None:
            raise OcrUnavailableError("neither tesserocr nor the tesseract command is installed")
        self.name = f"tesseract (command) {self.langs}"

    def recognize(self, image: Any, dpi: float) -> list[OcrWord]:
        gray = to_gray(image)
        if self._api is not None:
            self._api.SetImage(gray)
            self._api.SetSourceResolution(round(dpi))
            tsv = self._api.GetTSVText(0)
            self._api.Clear()
        else:
            tsv = self._run_command(gray, dpi)
        return parse_tsv(tsv)

    def _run_command(self, gray: Any, dpi: float) -> str:
        assert self._binary is not None
        buf = io.BytesIO()
        gray.save(buf, format="PNG", compress_level=1)
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # OpenMP makes it ~8x slower on 2 cores
        proc = subprocess.run(
            [
                self._binary,
                "stdin",
                "stdout",
                "--tessdata-dir",
                str(self.tessdata),
                "-l",
                self.langs,
                "--psm",
                str(self.psm),
                "--oem",
                "1",
                "--dpi",
                str(round(dpi)),
                "tsv",
            ],
            input=buf.getvalue(),
            capture_output=True,
            timeout=CLI_TIMEOUT_S,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"tesseract exited with {proc.returncode}")
        return proc.stdout.decode("utf-8", errors="replace")


def parse_tsv(tsv: str) -> list[OcrWord]:
    """Word rows (level 5) of Tesseract's TSV output; the header row, if any, is skipped."""
    words: list[OcrWord] = []
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10]) / 100
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        line = int(cols[2]) * 1_000_000 + int(cols[3]) * 1000 + int(cols[4])
        words.append(OcrWord(text, left, top, left + width, top + height, conf, line))
    return words


def to_gray(image: Any) -> Any:
    """Grey from the darkest channel: coloured text (orange, blue links) stays dark for Tesseract's
    binarisation, where the usual luminance makes it light grey and drops it."""
    from PIL import Image, ImageChops

    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        image = background
    r, g, b = image.convert("RGB").split()
    return ImageChops.darker(ImageChops.darker(r, g), b)


# -------------------------------------------------------------------------------------- rapidocr


class RapidOcrEngine:
    """RapidOCR 3 (or rapidocr_onnxruntime 1.x): a box per text line, split into words."""

    def __init__(self) -> None:
        for name in ("RapidOCR", "rapidocr", "rapidocr_onnxruntime"):
            logging.getLogger(name).setLevel(logging.WARNING)
        threads = min(os.cpu_count() or 1, 4)
        try:
            module: Any = importlib.import_module("rapidocr")
            self._engine: Any = module.RapidOCR(
                params={
                    "Global.log_level": "warning",
                    "Global.use_cls": False,  # upside-down lines are rare on invoices; saves ~15 %
                    "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                }
            )
            self._legacy = False
            self.name = "rapidocr 3"
        except ImportError:
            try:
                legacy: Any = importlib.import_module("rapidocr_onnxruntime")
            except ImportError:
                raise OcrUnavailableError("rapidocr is not installed") from None
            self._engine = legacy.RapidOCR()
            self._legacy = True
            self.name = "rapidocr_onnxruntime"
        except Exception as exc:  # models fail to load
            raise OcrUnavailableError(f"rapidocr failed to start ({type(exc).__name__})") from None
        for name in ("RapidOCR", "rapidocr", "rapidocr_onnxruntime"):
            logging.getLogger(name).setLevel(logging.WARNING)

    def recognize(self, image: Any, dpi: float) -> list[OcrWord]:
        np: Any = importlib.import_module("numpy")  # comes with rapidocr
        array = np.asarray(image.convert("RGB"))
        items: list[tuple[Any, str, float]] = []
        if self._legacy:
            result, _elapsed = self._engine(array)
            items = [(r[0], str(r[1]), float(r[2])) for r in result or []]
        else:
            out = self._engine(array)
            boxes, txts, scores = out.boxes, out.txts, out.scores
            if boxes is not None and txts is not None:
                items = [(b, t, float(s)) for b, t, s in zip(boxes, txts, scores, strict=False)]
        words: list[OcrWord] = []
        for line, (quad, text, score) in enumerate(items):
            pts = [(float(p[0]), float(p[1])) for p in quad]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            # The quadrilateral follows a skewed line: the words keep its slope (for deskew()).
            (ax, ay), (bx, by) = pts[0], pts[1]
            slope = (by - ay) / (bx - ax) if bx - ax > 1 else 0.0
            height = max(max(ys) - min(ys) - abs(slope) * (max(xs) - min(xs)), 1.0)
            mx_line, my_line = statistics.fmean(xs), statistics.fmean(ys)
            for w in split_line_box(text, min(xs), min(ys), max(xs), max(ys)):
                my = my_line + slope * ((w.x0 + w.x1) / 2 - mx_line)
                words.append(OcrWord(w.text, w.x0, my - height / 2, w.x1, my + height / 2, score, line))
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


# ------------------------------------------------------------------------------- engine selection

_ENGINE_LOCK = threading.RLock()
_engine: OcrEngine | None = None
_engine_error: str | None = None
_loaded = False


def _create(name: str) -> OcrEngine:
    if name == "tesseract":
        return TesseractEngine()
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "off":
        raise OcrUnavailableError(f"OCR is switched off ({ENGINE_ENV}=off)")
    if name != "auto":
        raise OcrUnavailableError(f"unknown OCR engine {name!r} in {ENGINE_ENV}: use one of {ENGINE_NAMES}")
    reasons: list[str] = []
    for candidate in ("tesseract", "rapidocr"):
        try:
            return _create(candidate)
        except OcrUnavailableError as exc:
            reasons.append(f"{candidate}: {exc}")
    raise OcrUnavailableError("no OCR engine installed (" + "; ".join(reasons) + ")")


def _load_engine() -> OcrEngine | None:
    global _engine, _engine_error, _loaded
    with _ENGINE_LOCK:
        if not _loaded:
            name = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
            try:
                _engine = _create(name)
            except OcrUnavailableError as exc:
                _engine_error = f"OCR is not available: {exc}"
            _loaded = True
        return _engine


def use_engine(engine: OcrEngine | str | None) -> OcrEngine | None:
    """Replace the process-wide engine: an engine, an engine name, or None to choose again lazily.

    For tests, benchmarks and callers that configure OCR in code instead of the environment.
    Raises :class:`OcrUnavailableError` when a named engine cannot run here.
    """
    global _engine, _engine_error, _loaded
    with _ENGINE_LOCK:
        if engine is None:
            _engine, _engine_error, _loaded = None, None, False
            return None
        _engine = _create(engine) if isinstance(engine, str) else engine
        _engine_error, _loaded = None, True
        return _engine


def engine_name() -> str | None:
    engine = _load_engine()
    return engine.name if engine is not None else None


def ocr_available() -> bool:
    return _load_engine() is not None


def ocr_unavailable_reason() -> str:
    _load_engine()
    return _engine_error or "OCR is not available"


# ------------------------------------------------------------------------------------- the reader


def ocr_scale(width: int, height: int, dpi: float | None) -> float:
    """Factor to resize an image by before OCR (resolution into range, pixel count bounded)."""
    if dpi is None or dpi < 50:
        # Unknown resolution: assume the image spans an A4/Letter page width (8.3 in).
        dpi = max(width / 8.3, 1.0)
    factor = 1.0
    if dpi > MAX_OCR_DPI:
        factor = MAX_OCR_DPI / dpi
    elif dpi < MIN_OCR_DPI:
        factor = min(MIN_OCR_DPI / dpi, 3.0)
    factor = min(factor, MAX_OCR_SIDE / max(width, height, 1))
    factor = min(factor, math.sqrt(MAX_OCR_PIXELS / max(width * height, 1)))
    return factor


def ocr_image(image: Any, scale: float, dpi: float | None = None) -> list[Word]:
    """OCR a PIL image; boxes are divided by ``scale`` (image pixels per output unit).

    ``dpi`` is the image's resolution when known (rendered PDF pages, image metadata).
    """
    engine = _load_engine()
    if engine is None:
        return []
    factor = ocr_scale(image.width, image.height, dpi)
    if abs(factor - 1.0) > 0.05:
        from PIL import Image

        size = (max(round(image.width * factor), 1), max(round(image.height * factor), 1))
        image = (image if image.mode in ("L", "RGB") else image.convert("RGB")).resize(
            size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC
        )
    else:
        factor = 1.0
    eff_dpi = (dpi or image.width / factor / 8.3) * factor
    with _ENGINE_LOCK:  # engines hold one model set; one page at a time keeps memory bounded
        found = engine.recognize(image, eff_dpi)
    found = [w for w in found if _keep(w)]
    found = deskew(found, image.width / 2, image.height / 2)
    unit = scale * factor
    return [Word(w.text, w.x0 / unit, w.y0 / unit, w.x1 / unit, w.y1 / unit) for w in found]


def _keep(w: OcrWord) -> bool:
    """Drop unsure words and the bars engines read from table rules and logos ('|', '_')."""
    if w.conf < MIN_WORD_CONF or not w.text.strip():
        return False
    return any(ch.isalnum() for ch in w.text) or (w.conf >= 0.75 and w.text.strip() not in {"|", "_", "—"})


def skew_angle(words: Sequence[OcrWord]) -> float:
    """Median slope (radians) of the engine's text lines, from the centres of their words."""
    by_line: dict[int, list[OcrWord]] = {}
    for w in words:
        by_line.setdefault(w.line, []).append(w)
    slopes: list[float] = []
    for line in by_line.values():
        if len(line) < 2:
            continue
        xs = [(w.x0 + w.x1) / 2 for w in line]
        ys = [(w.y0 + w.y1) / 2 for w in line]
        if max(xs) - min(xs) < 5 * statistics.median(w.y1 - w.y0 for w in line):
            continue
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        den = sum((x - mx) ** 2 for x in xs)
        slopes.append(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den)
    if len(slopes) < 3:
        return 0.0
    return math.atan(statistics.median(slopes))


def deskew(words: list[OcrWord], cx: float, cy: float) -> list[OcrWord]:
    """Turn the words of a slightly rotated scan back onto horizontal lines.

    Word centres are rotated about the image centre; each box keeps its size. Boxes are then in the
    coordinates of the straightened image (a few pixels off the original at 1-2 degrees).
    """
    angle = skew_angle(words)
    if not MIN_SKEW_DEG <= abs(math.degrees(angle)) <= MAX_SKEW_DEG:
        return words
    cos, sin = math.cos(-angle), math.sin(-angle)
    out: list[OcrWord] = []
    for w in words:
        mx, my = (w.x0 + w.x1) / 2 - cx, (w.y0 + w.y1) / 2 - cy
        nx, ny = cx + mx * cos - my * sin, cy + mx * sin + my * cos
        hw, hh = (w.x1 - w.x0) / 2, (w.y1 - w.y0) / 2
        out.append(OcrWord(w.text, nx - hw, ny - hh, nx + hw, ny + hh, w.conf, w.line))
    return out
