"""``fieldstone-extract FILE --template TEMPLATE.json [--pages 1-3,5]``: print the extraction as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fieldstone.extract.engine import extract
from fieldstone.extract.errors import ExtractError

EXIT_EXTRACT_ERROR = 2
EXIT_USAGE = 64


def _load_template(path: Path) -> list[Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and isinstance(raw.get("variables"), list):
        return list(raw["variables"])
    if isinstance(raw, list):
        return raw
    raise ValueError("the template must be a list of variables or an object with a 'variables' list")


def _error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldstone-extract", description=__doc__)
    parser.add_argument("file", type=Path, help="PDF, PNG, JPEG, TIFF, WebP or UTF-8 text file")
    parser.add_argument("--template", "-t", type=Path, required=True, help="JSON list of variables")
    parser.add_argument("--pages", "-p", default=None, help="pages to read, e.g. 1-3,5 (default: all)")
    parser.add_argument("--max-pages", type=int, default=500)
    parser.add_argument("--compact", action="store_true", help="one-line JSON")
    args = parser.parse_args(argv)

    try:
        variables = _load_template(args.template)
        data = args.file.read_bytes()
    except (OSError, ValueError) as exc:
        sys.stdout.write(_error("INVALID_INPUT", str(exc)) + "\n")
        return EXIT_USAGE
    try:
        out = extract(data, variables, pages=args.pages, filename=args.file.name, max_pages=args.max_pages)
    except ExtractError as exc:
        sys.stdout.write(_error(exc.code, exc.message) + "\n")
        return EXIT_EXTRACT_ERROR
    except ValidationError as exc:
        sys.stdout.write(_error("INVALID_TEMPLATE", str(exc)) + "\n")
        return EXIT_USAGE
    except ValueError as exc:
        sys.stdout.write(_error("INVALID_TEMPLATE", str(exc)) + "\n")
        return EXIT_USAGE
    indent = None if args.compact else 2
    sys.stdout.write(json.dumps(out.to_dict(), ensure_ascii=False, indent=indent) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
