"""`fieldstone-stack up|down|status|logs`: the service half of `make up` / `make down`.

The infrastructure (Postgres, Kafka, MinIO) is started before by scripts/infra/infra.sh.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

from fieldstone.devstack.stack import Profile, Stack
from fieldstone.devstack.traces import load_dir, render


def _key_works(url: str, key: str) -> bool:
    try:
        r = httpx.get(f"{url}/v1/usage", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip()
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldstone-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "logs", "traces"])
    parser.add_argument("--state-dir", default=".stack")
    parser.add_argument("--trace-id", help="for traces: print this trace only")
    parser.add_argument("--last", type=int, default=5, help="for traces: how many recent traces")
    parser.add_argument("service", nargs="?", help="for logs: which service")
    ns = parser.parse_args(argv)
    stack = Stack(Profile.from_env(state_dir=Path(ns.state_dir)))
    out = sys.stdout
    if ns.command == "down":
        stack.down()
        out.write("[stack] services stopped\n")
        return 0
    if ns.command == "status":
        for name, st in stack.status().items():
            state = "healthy" if st["healthy"] else ("running" if st["pid"] else "stopped")
            out.write(
                f"{name:<11} {state:<8} pid={st['pid']} port={st['port']} metrics={st['metrics']} log={st['log']}\n"
            )
        return 0
    if ns.command == "traces":
        # Written when the stack runs with FIELDSTONE_TRACING=file (docs/observability.md).
        out.write(render(load_dir(Path(ns.state_dir) / "traces"), ns.trace_id, ns.last) + "\n")
        return 0
    if ns.command == "logs":
        for name in [ns.service] if ns.service else stack.running_processes():
            out.write(f"--- {name} ({stack.log_file(name)}) ---\n{stack.tail(name, 40)}\n")
        return 0
    try:
        stack.up()
    except RuntimeError as exc:
        sys.stderr.write(f"[stack] {exc}\n")
        return 1
    env_path = stack.state / "env"
    saved = _read_env(env_path)
    key = saved.get("FIELDSTONE_API_KEY", "")
    if not key or not _key_works(stack.p.url, key):
        key = stack.bootstrap_key()["key"]
    env_path.write_text(f"FIELDSTONE_URL={stack.p.url}\nFIELDSTONE_API_KEY={key}\n")
    env_path.chmod(0o600)
    out.write(json.dumps({"services": {s: v["pid"] for s, v in stack.status().items()}}) + "\n")
    out.write(f"FIELDSTONE_URL={stack.p.url}\nFIELDSTONE_API_KEY={key}\n")
    return 0
