"""Start, stop and inspect the six services as separate local processes.

A `Profile` names everything that must not collide between two stacks sharing one
Postgres, Kafka and MinIO: ports, database names, consumer groups and the bucket.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("auth", "usage", "files", "webhooks", "extraction", "gateway")
_GRPC_OFFSET = {"auth": 1, "files": 2, "extraction": 3, "webhooks": 4, "usage": 5}


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
        }
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]

    def grpc_port(self, service: str) -> int:
        return self.grpc_base + _GRPC_OFFSET[service]

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

    def env(self, service: str) -> dict[str, str]:
        p = self.p
        prefix = service.upper()
        env = {
            f"{prefix}_DATABASE_URL": p.database_url(service),
            f"{prefix}_KAFKA_BOOTSTRAP": p.kafka,
            f"{prefix}_GROUP_PREFIX": f"fieldstone-{p.name}",
            f"{prefix}_CREATE_DATABASE": "true",
            f"{prefix}_LOG_LEVEL": p.log_level,
        }
        if service != "gateway":
            env[f"{prefix}_GRPC_PORT"] = str(p.grpc_port(service))
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
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def start(self, service: str) -> int:
        running = self.pid(service)
        if running:
            return running
        env = {**os.environ, **self.env(service), "PYTHONUNBUFFERED": "1"}
        with self.log_file(service).open("ab") as log:
            proc = subprocess.Popen(
                [str(self.bin / f"fieldstone-{service}")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
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

    def wait_healthy(self, services: tuple[str, ...] = SERVICES, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services)
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
        for service in SERVICES:
            self.start(service)
        self.wait_healthy(timeout=timeout)

    def down(self) -> None:
        for service in reversed(SERVICES):
            self.stop(service)

    def status(self) -> dict[str, dict[str, object]]:
        return {
            s: {
                "pid": self.pid(s),
                "healthy": bool(self.pid(s)) and self.healthy(s),
                "port": self.p.http_port if s == "gateway" else self.p.grpc_port(s),
                "log": str(self.log_file(s)),
            }
            for s in SERVICES
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
        result: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
        return result


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
