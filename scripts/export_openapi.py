"""Write the public API's OpenAPI document to docs/openapi.json (or --check it is current)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fieldstone.gateway.app import create_app
from fieldstone.gateway.openapi import complete
from fieldstone.gateway.security import Authenticator

TARGET = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def render() -> str:
    clients: Any = type("NoClients", (), {"channels": []})()
    app = create_app(clients, Authenticator(None, 0))
    return json.dumps(complete(app.openapi_schema.to_schema()), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    fresh = render()
    if parser.parse_args().check:
        if not TARGET.exists() or TARGET.read_text() != fresh:
            sys.stderr.write("docs/openapi.json is stale: run `make openapi`\n")
            return 1
        return 0
    TARGET.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
