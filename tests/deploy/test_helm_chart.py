"""The chart lints, renders objects that Kubernetes 1.30 accepts, matches its golden examples, and its
values schema refuses what it should."""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from .support import CHART, GOLDEN, KUBE_VERSION, Rendered, helm_template, require_module, run, variant_values

VARIANTS = list(variant_values())
CRD_SCHEMAS = Path(__file__).parent / "crd_schemas"
# Custom resources are validated against the strict schemas kept next to this test.
CRD_SCHEMA_FILES = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda.sh-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring.coreos.com-v1.json",
}


def test_there_are_at_least_three_ci_variants() -> None:
    assert len(VARIANTS) >= 4, f"expected default + at least three ci/*-values.yaml, found {VARIANTS}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint_strict(helm: str, variant: str) -> None:
    run([helm, "lint", "--strict", str(CHART), *variant_values()[variant]])


@functools.cache
def _kubernetes_validate() -> Any:
    kv = require_module("kubernetes_validate", "kubernetes-validate")
    utils = require_module("kubernetes_validate.utils", "kubernetes-validate")
    # validate() re-reads the (large) schema files for every object; they never change during a run.
    utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
    return kv


@functools.cache
def _crd_validator(api_version: str, kind: str) -> Any:
    jsonschema = require_module("jsonschema", "kubernetes-validate")
    schema = json.loads((CRD_SCHEMAS / CRD_SCHEMA_FILES[(api_version, kind)]).read_text())
    return jsonschema.Draft7Validator(schema)


def _problems(doc: dict[str, Any]) -> list[str]:
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    key = (doc.get("apiVersion", ""), doc.get("kind", ""))
    if key in CRD_SCHEMA_FILES:
        return [
            f"{where}: {e.message} at {list(e.absolute_path)}" for e in _crd_validator(*key).iter_errors(doc)
        ]
    kv = _kubernetes_validate()
    try:
        kv.validate(doc, KUBE_VERSION, strict=True)
    except kv.SchemaNotFoundError as exc:
        return [f"{where}: {exc.message}"]
    except kv.ValidationError as exc:
        return [f"{where}: {exc.message} at {list(exc.absolute_path)}"]
    return []


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_is_valid_for_kubernetes_1_30_strict(
    rendered: dict[str, Rendered], variant: str
) -> None:
    docs = rendered[variant].docs
    assert docs, f"{variant} rendered nothing"
    problems = [p for doc in docs for p in _problems(doc)]
    assert not problems, "\n".join(problems)


def test_the_validator_is_strict() -> None:
    """A misspelt field must fail, or the test above proves nothing."""
    bad = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "x"},
        "automountServiceAcountToken": False,
    }
    assert _problems(bad), "kubernetes-validate accepted an unknown field"
    bad_crd = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [{"type": "cpu", "metadata": {}}],
            "maxReplicas": 3,
        },
    }
    assert _problems(bad_crd), "the ScaledObject schema accepted an unknown field"


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendering_matches_the_golden_example(rendered: dict[str, Rendered], variant: str) -> None:
    golden = GOLDEN / f"{variant}.yaml"
    assert golden.exists(), f"{golden} is missing: run scripts/helm/update-golden.sh"
    expected = golden.read_text()
    actual = rendered[variant].text
    if actual != expected:
        diff = list(
            difflib.unified_diff(
                expected.splitlines(),
                actual.splitlines(),
                f"golden/{variant}.yaml",
                "helm template",
                lineterm="",
            )
        )
        shown = "\n".join(diff[:80]) + ("\n..." if len(diff) > 80 else "")
        pytest.fail(
            f"the chart no longer renders deploy/helm/golden/{variant}.yaml. If the change is intended, run "
            f"scripts/helm/update-golden.sh and review the diff:\n{shown}",
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "components.auth.replicaz=2"], "additional properties 'replicaz' not allowed"),
        (["--set", "default.securityContext.readOnlyRootFilesystem=false"], "readOnlyRootFilesystem"),
        (["--set", "default.securityContext.allowPrivilegeEscalation=true"], "allowPrivilegeEscalation"),
        (["--set", "default.podSecurityContext.runAsNonRoot=false"], "runAsNonRoot"),
        (["--set", "components.gateway.calls={auth,billing}"], "calls"),
        (["--set", "migrations.job.enabled=true"], "migrations"),
        (["--set", "devInfrastructure.enabled=false"], "bootstrapServers"),
        (["--set", "webhookSecretsEncryption.key=too-short"], "webhookSecretsEncryption"),
    ],
)
def test_values_schema_refuses(helm: str, args: list[str], message: str) -> None:
    result = helm_template(helm, args, check=False)
    assert result.returncode != 0, f"helm template {' '.join(args)} was accepted"
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # External infrastructure without credentials: the error names the value to set.
        (
            [
                "--set",
                "devInfrastructure.enabled=false",
                "--set",
                "kafka.bootstrapServers=kafka:9092",
                "--set",
                "objectStorage.endpoint=s3.example.com",
            ],
            "postgres.host is required",
        ),
        (
            [
                "--set",
                "devInfrastructure.enabled=false",
                "--set",
                "kafka.bootstrapServers=kafka:9092",
                "--set",
                "objectStorage.endpoint=s3.example.com",
                "--set",
                "postgres.host=pg",
                "--set",
                "postgres.password=pw",
            ],
            "objectStorage.accessKey is required",
        ),
        (
            ["--set", "serviceMonitor.enabled=true", "--set", "components.auth.metrics.enabled=true"],
            "serves gRPC only",
        ),
    ],
)
def test_missing_settings_fail_with_a_clear_message(helm: str, args: list[str], message: str) -> None:
    result = helm_template(helm, args, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
