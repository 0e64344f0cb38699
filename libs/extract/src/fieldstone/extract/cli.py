"""``fieldstone-extract FILE --template TEMPLATE.json [--pages 1-3,5]``: print the extraction as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fieldstone.extract.backends import DEFAULT_BACKEND, backend_names
from fieldstone.extract.engine import extract
from fieldstone.extract.errors import ExtractError
from fieldstone.extract.models import ExtractionOutput, Variable
from fieldstone.extract.reading import ocr

EXIT_EXTRACT_ERROR = 2
EXIT_USAGE = 64


def load_template(path: Path) -> list[Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and isinstance(raw.get("variables"), list):
        return list(raw["variables"])
    if isinstance(raw, list):
        return raw
    raise ValueError("the template must be a list of variables or an object with a 'variables' list")


def extract_file(
    path: Path,
    variables: Sequence[Variable | Mapping[str, Any]],
    *,
    pages: str | None = None,
    max_pages: int = 500,
    backend: str | None = None,
) -> ExtractionOutput:
    """What the command does with one file (the benchmark runs this too)."""
    data = path.read_bytes()
    return extract(data, variables, pages=pages, filename=path.name, max_pages=max_pages, backend=backend)


def _error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldstone-extract", description=__doc__)
    parser.add_argument("file", type=Path, help="PDF, PNG, JPEG, TIFF, WebP or UTF-8 text file")
    parser.add_argument("--template", "-t", type=Path, required=True, help="JSON list of variables")
    parser.add_argument("--pages", "-p", default=None, help="pages to read, e.g. 1-3,5 (default: all)")
    parser.add_argument("--max-pages", type=int, default=500)
    parser.add_argument(
        "--backend",
        "-b",
        default=DEFAULT_BACKEND,
        choices=backend_names(),
        help=f"extraction backend (default: {DEFAULT_BACKEND})",
    )
    parser.add_argument(
        "--ocr",
        choices=ocr.ENGINE_NAMES,
        default=None,
        help=f"OCR engine (default: ${ocr.ENGINE_ENV} or auto = tesseract, else rapidocr)",
    )
    parser.add_argument("--compact", action="store_true", help="one-line JSON")
    args = parser.parse_args(argv)

    try:
        variables = load_template(args.template)
        if args.ocr is not None:
            try:
                ocr.use_engine(args.ocr)
            except ocr.OcrUnavailableError as exc:
                raise ValueError(f"OCR engine {args.ocr!r} is not available: {exc}") from None
        out = extract_file(
            args.file, variables, pages=args.pages, max_pages=args.max_pages, backend=args.backend
        )
    except ExtractError as exc:
        sys.stdout.write(_error(exc.code, exc.message) + "\n")
        return EXIT_EXTRACT_ERROR
    except ValidationError as exc:
        sys.stdout.write(_error("INVALID_TEMPLATE", str(exc)) + "\n")
        return EXIT_USAGE
    except (OSError, ValueError) as exc:
        sys.stdout.write(_error("INVALID_INPUT", str(exc)) + "\n")
        return EXIT_USAGE
    indent = None if args.compact else 2
    sys.stdout.write(json.dumps(out.to_dict(), ensure_ascii=False, indent=indent) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
