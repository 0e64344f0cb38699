#!/usr/bin/env python3
"""

usage: dump_layout.py FILE [--pages 1-2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fieldstone.extract.reading import read_document


def emit(line: str) -> None:
    """Write one line of the report to stdout (this is a command-line tool)."""
    sys.stdout.write(line + "\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--pages", default=None)
    args = ap.parse_args()
    doc = read_document(args.file.read_bytes(), pages=args.pages, filename=args.file.name)
    for page in doc.pages:
        emit(f"--- page {page.number} ({page.source}) {page.width:.0f}x{page.height:.0f} {page.note or ''}")
        for line in page.lines:
            segs = " || ".join(s.text for s in line.segments)
            emit(f"{line.y0:6.1f} {line.words[0].x0:6.1f} h{line.height:4.1f}  {segs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
