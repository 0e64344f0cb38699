"""Start, stop and inspect the six services as separate local processes.

A `Profile` names everything that must not collide between two stacks sharing one
Postgres, Kafka and MinIO: ports, database names, consumer groups and the bucket.

Processes are named like their service, except extra extraction workers: `extraction-2`,
`extraction-3`, ... are more processes of the extraction service (same database, same consumer
groups, so they share the jobs) on ports of their own. The gateway calls `extraction`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("auth", "usage", "files", "webhooks", "extraction", "gateway")
_GRPC_OFFSET = {"auth": 1, "files": 2, "extraction": 3, "webhooks": 4, "usage": 5}
# The gRPC services serve /metrics on grpc_base + 10 + their offset (the gateway on its HTTP port).
_METRICS_OFFSET = 10
# Extra extraction processes extraction-<n> (2 <= n < 20): gRPC on grpc_base + 20 + n, metrics on
# grpc_base + 40 + n.
_REPLICA = re.compile(r"^extraction-(\d+)$")
_REPLICA_GRPC_OFFSET, _REPLICA_METRICS_OFFSET, _MAX_REPLICA = 20, 40, 19


def service_of(process: str) -> str:
    """The service a process runs: `extraction-2` → `extraction`."""
    return "extraction" if _REPLICA.match(process) else process


def _replica(process: str) -> int:
    match = _REPLICA.match(process)
    if match is None:
        return 0
    n = int(match.group(1))
    if not 2 <= n <= _MAX_REPLICA:
        raise ValueError(f"extraction replicas are numbered 2..{_MAX_REPLICA}, not {n}")
    return n


@dataclass(frozen=True)
class Profile:
    name: str = "dev"
    state_dir: Path = Path(".stack")
    http_port: int = 18080
    grpc_base: int = 18100
    pg_base: str = "postgresql://postgres@127.0.0.1:15432"
    kafka: str = "127.0.0.1:19092"
    s3_endpoint: str = "127.0.0.1:19000"
    s3_access_key: str = "fieldstone"
    s3_secret_key: str = "fieldstone-dev-secret"
    notify_arn: str = "arn:minio:sqs::FIELDSTONE:kafka"
    db_prefix: str = "fieldstone_"
    log_level: str = "INFO"
    # Extraction processes `up` starts: `extraction` plus extraction-2..N (workers scale by
    # adding processes; `make up` reads FIELDSTONE_EXTRACTION_WORKERS).
    extraction_workers: int = 1
    # When set, every service appends its spans to <traces_dir>/<service>.jsonl
    # (FIELDSTONE_TRACING=file turns it on for `make up`; `fieldstone-stack traces` prints them).
    traces_dir: Path | None = None
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, name: str = "dev", **overrides: object) -> Profile:
        e = os.environ
        base: dict[str, object] = {
            "name": name,
            "pg_base": e.get("FIELDSTONE_PG_DSN_BASE", cls.pg_base),
            "kafka": e.get("FIELDSTONE_KAFKA_BOOTSTRAP", cls.kafka),
            "s3_endpoint": e.get("FIELDSTONE_S3_ENDPOINT", cls.s3_endpoint),
            "s3_access_key": e.get("FIELDSTONE_S3_ACCESS_KEY", cls.s3_access_key),
            "s3_secret_key": e.get("FIELDSTONE_S3_SECRET_KEY", cls.s3_secret_key),
            "notify_arn": e.get("FIELDSTONE_MINIO_NOTIFY_ARN", cls.notify_arn),
            "extraction_workers": int(e.get("FIELDSTONE_EXTRACTION_WORKERS", "1")),
        }
        if e.get("FIELDSTONE_TRACING", "").lower() in ("1", "true", "file", "on"):
            state = Path(str(overrides.get("state_dir", cls.state_dir)))
            base["traces_dir"] = state / "traces"
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]

    def processes(self) -> tuple[str, ...]:
        """Every process `up` starts, in start order."""
        replicas = tuple(f"extraction-{n}" for n in range(2, self.extraction_workers + 1))
        return tuple(p for s in SERVICES for p in ((s, *replicas) if s == "extraction" else (s,)))

    def grpc_port(self, service: str) -> int:
        if n := _replica(service):
            return self.grpc_base + _REPLICA_GRPC_OFFSET + n
        return self.grpc_base + _GRPC_OFFSET[service]

    def metrics_port(self, service: str) -> int:
        if n := _replica(service):
            return self.grpc_base + _REPLICA_METRICS_OFFSET + n
        return (
            self.http_port
            if service == "gateway"
            else self.grpc_base + _METRICS_OFFSET + _GRPC_OFFSET[service]
        )

    def metrics_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port(service)}/metrics"

    def target(self, service: str) -> str:
        return f"127.0.0.1:{self.grpc_port(service)}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def database_url(self, service: str) -> str:
        return f"{self.pg_base}/{self.db_prefix}{service}"


class Stack:
    def __init__(self, profile: Profile, python_bin: Path | None = None) -> None:
        self.p = profile
        self.state = profile.state_dir.resolve()
        self.bin = (python_bin or Path(sys.executable)).parent
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        (self.state / "run").mkdir(parents=True, exist_ok=True)

    # -- configuration -------------------------------------------------------------
    def _webhook_key(self) -> str:
        path = self.state / "run" / "webhooks-secret-key"
        if not path.exists():
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            path.chmod(0o600)
        return path.read_text().strip()

    def env(self, process: str) -> dict[str, str]:
        """The environment of a process (a service, or an extra extraction process)."""
        p, service = self.p, service_of(process)
        prefix = service.upper()
        env = {
            f"{prefix}_DATABASE_URL": p.database_url(service),
            f"{prefix}_KAFKA_BOOTSTRAP": p.kafka,
            f"{prefix}_GROUP_PREFIX": f"fieldstone-{p.name}",
            f"{prefix}_CREATE_DATABASE": "true",
            f"{prefix}_LOG_LEVEL": p.log_level,
        }
        if service != "gateway":
            env[f"{prefix}_GRPC_PORT"] = str(p.grpc_port(process))
            env[f"{prefix}_METRICS_PORT"] = str(p.metrics_port(process))
        if p.traces_dir is not None:
            traces = p.traces_dir.resolve()
            traces.mkdir(parents=True, exist_ok=True)
            env["FIELDSTONE_TRACES_FILE"] = str(traces / f"{process}.jsonl")
            env.setdefault("OTEL_BSP_SCHEDULE_DELAY", "500")
        s3 = {
            "S3_ENDPOINT": p.s3_endpoint,
            "S3_ACCESS_KEY": p.s3_access_key,
            "S3_SECRET_KEY": p.s3_secret_key,
        }
        if service == "files":
            env.update({f"FILES_{k}": v for k, v in s3.items()})
            env["FILES_S3_PUBLIC_URL"] = f"http://{p.s3_endpoint}"
            env["FILES_BUCKET"] = f"fieldstone-{p.name}-uploads"
            env["FILES_NOTIFY_QUEUE_ARN"] = p.notify_arn
            env["FILES_USAGE_GRPC_TARGET"] = p.target("usage")
        elif service == "extraction":
            env.update({f"EXTRACTION_{k}": v for k, v in s3.items()})
            env["EXTRACTION_FILES_GRPC_TARGET"] = p.target("files")
            env["EXTRACTION_USAGE_GRPC_TARGET"] = p.target("usage")
        elif service == "webhooks":
            env["WEBHOOKS_SECRET_KEY"] = self._webhook_key()
            env["WEBHOOKS_PUBLIC_API_URL"] = p.url
            # The local stack delivers to receivers on this machine; production does not.
            env["WEBHOOKS_ALLOW_INSECURE_HTTP"] = "true"
            env["WEBHOOKS_ALLOWED_CIDRS"] = "127.0.0.0/8,::1/128"
        elif service == "gateway":
            env["GATEWAY_HTTP_PORT"] = str(p.http_port)
            for other in ("auth", "files", "extraction", "webhooks", "usage"):
                env[f"GATEWAY_{other.upper()}_GRPC_TARGET"] = p.target(other)
        env.update(p.extra_env.get(service, {}))
        return env

    # -- processes -------------------------------------------------------------------
    def pid_file(self, service: str) -> Path:
        return self.state / "run" / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.state / "logs" / f"{service}.log"

    def pid(self, service: str) -> int | None:
        try:
            pid = int(self.pid_file(service).read_text())
        except (OSError, ValueError):
            return None
        _reap(pid)  # a process this one started and that exited is a zombie until reaped
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def start(self, service: str, env: Mapping[str, str] | None = None) -> int:
        """Start a process (if it is not running), with `env` added to its environment."""
        running = self.pid(service)
        if running:
            return running
        environment = {**os.environ, **self.env(service), **(env or {}), "PYTHONUNBUFFERED": "1"}
        with self.log_file(service).open("ab") as log:
            proc = subprocess.Popen(
                [str(self.bin / f"fieldstone-{service_of(service)}")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,
            )
        self.pid_file(service).write_text(str(proc.pid))
        return proc.pid

    def stop(self, service: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        pid = self.pid(service)
        if pid is None:
            self.pid_file(service).unlink(missing_ok=True)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid(service):
            _reap(pid)
            time.sleep(0.1)
        if self.pid(service):
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
        self.pid_file(service).unlink(missing_ok=True)

    def kill(self, service: str) -> None:
        """Crash a service (SIGKILL): no chance to finish or commit anything."""
        self.stop(service, signal.SIGKILL, timeout=5.0)

    def restart(self, service: str, env: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        """Stop a process gracefully, start it again (with `env` added) and wait until it is healthy."""
        self.stop(service)
        self.start(service, env)
        self.wait_healthy((service,), timeout=timeout)

    def running_processes(self) -> tuple[str, ...]:
        """The profile's processes, plus extra extraction processes started by hand."""
        extra = sorted(
            (
                f.stem
                for f in (self.state / "run").glob("extraction-*.pid")
                if f.stem not in self.p.processes()
            ),
            key=_replica,
        )
        return (*self.p.processes(), *extra)

    # -- health --------------------------------------------------------------------
    def healthy(self, service: str) -> bool:
        if service == "gateway":
            try:
                return httpx.get(f"{self.p.url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        try:
            with grpc.insecure_channel(self.p.target(service)) as channel:
                r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
                return bool(r.status == health_pb2.HealthCheckResponse.SERVING)
        except grpc.RpcError:
            return False

    def wait_healthy(self, services: tuple[str, ...] | None = None, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services or self.p.processes())
        while pending and time.monotonic() < deadline:
            for service in list(pending):
                if self.pid(service) is None:
                    raise RuntimeError(f"{service} exited during start-up:\n{self.tail(service)}")
                if self.healthy(service):
                    pending.remove(service)
            if pending:
                time.sleep(0.3)
        if pending:
            details = "\n".join(f"--- {s} ---\n{self.tail(s)}" for s in pending)
            raise RuntimeError(f"not healthy after {timeout:.0f} s: {', '.join(pending)}\n{details}")

    def tail(self, service: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file(service).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def up(self, timeout: float = 180.0) -> None:
        for service in self.p.processes():
            self.start(service)
        self.wait_healthy(timeout=timeout)

    def down(self) -> None:
        for service in reversed(self.running_processes()):
            self.stop(service)

    def status(self) -> dict[str, dict[str, object]]:
        return {
            s: {
                "pid": self.pid(s),
                "healthy": bool(self.pid(s)) and self.healthy(s),
                "port": self.p.http_port if s == "gateway" else self.p.grpc_port(s),
                "metrics": self.p.metrics_url(s),
                "log": str(self.log_file(s)),
            }
            for s in self.running_processes()
        }

    # -- bootstrap key -----------------------------------------------------------------
    def bootstrap_key(self, workspace: str = "dev", plan: str = "pro") -> dict[str, str]:
        """Create a workspace with every scope through the auth admin CLI."""
        env = {**os.environ, **self.env("auth")}
        out = subprocess.run(
            [str(self.bin / "fieldstone-auth-admin"), "bootstrap", "--workspace", workspace, "--plan", plan],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, str] = json.loads(out.stdout)  # the result alone; logs go to stderr
        return result


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
