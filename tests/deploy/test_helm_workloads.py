"""Every Deployment of every variant is hardened, probed, bounded, disruption-safe and configured the way
the services' settings classes require."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from .support import (
    NAMESPACE,
    REPO,
    SERVICES,
    SETTINGS,
    Rendered,
    container,
    merged_values,
    variant_values,
)

VARIANTS = list(variant_values())


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_deployment_per_service(rendered: dict[str, Rendered], variant: str) -> None:
    assert sorted(rendered[variant].deployments()) == sorted(SERVICES)


@pytest.mark.parametrize("variant", VARIANTS)
def test_deployments_have_startup_readiness_and_liveness_probes(
    rendered: dict[str, Rendered], variant: str
) -> None:
    for name, deployment in rendered[variant].deployments().items():
        c = container(deployment)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in c, f"{variant}/{name}: no {probe}"
            if name == "gateway":
                assert c[probe]["httpGet"]["port"] == "http", f"{variant}/{name}: {probe}"
            else:  # native gRPC health checks (grpc.health.v1) on the serving port
                assert c[probe]["grpc"]["port"] == 50051, f"{variant}/{name}: {probe}"
        if name == "gateway":
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("variant", VARIANTS)
def test_deployments_have_requests_and_limits(rendered: dict[str, Rendered], variant: str) -> None:
    for name, deployment in rendered[variant].deployments().items():
        resources = container(deployment)["resources"]
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resources.get(kind, {}).get(resource), f"{variant}/{name}: no {kind}.{resource}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_deployments_run_non_root_and_hardened(rendered: dict[str, Rendered], variant: str) -> None:
    for name, deployment in rendered[variant].deployments().items():
        pod = deployment["spec"]["template"]["spec"]
        pod_sc = pod["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, f"{variant}/{name}"
        assert pod_sc["runAsUser"] != 0 and pod_sc["runAsGroup"] != 0, f"{variant}/{name}"
        assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault", f"{variant}/{name}"
        assert pod["automountServiceAccountToken"] is False, f"{variant}/{name}"
        sc = container(deployment)["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, f"{variant}/{name}"
        assert sc["readOnlyRootFilesystem"] is True, f"{variant}/{name}"
        assert sc.get("privileged", False) is False, f"{variant}/{name}"
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), (
            f"{variant}/{name}"
        )
        # the only writable path; anything else mounted (the Kafka CA) is read-only
        mounts = container(deployment)["volumeMounts"]
        writable = {m["mountPath"] for m in mounts if not m.get("readOnly")}
        assert writable == {"/tmp"}, f"{variant}/{name}: {writable}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_deployment_has_a_pdb_and_a_service_account(
    rendered: dict[str, Rendered], variant: str
) -> None:
    r = rendered[variant]
    pdbs = r.of_kind("PodDisruptionBudget")
    for name, deployment in r.deployments().items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if _matches(p["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{variant}/{name}: {len(covering)} PodDisruptionBudgets"
        assert "maxUnavailable" in covering[0]["spec"], f"{variant}/{name}: a PDB should never block drains"
        account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        assert r.get("ServiceAccount", account)["automountServiceAccountToken"] is False


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_deployment_has_a_service_on_its_port(rendered: dict[str, Rendered], variant: str) -> None:
    r = rendered[variant]
    for deployment in r.deployments().values():
        service = r.get("Service", deployment["metadata"]["name"])
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        port_names = {p["name"] for p in container(deployment)["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} == port_names


@pytest.mark.parametrize("variant", VARIANTS)
def test_grpc_callers_balance_over_every_replica_of_the_callee(
    rendered: dict[str, Rendered], variant: str
) -> None:
    """Every *_GRPC_TARGET is dns:/// of the callee's headless Service on its gRPC port: the name resolves
    to each ready pod, and the client (round robin, libs/grpc) spreads its calls over all of them."""
    r = rendered[variant]
    deployments = r.deployments()
    targets = 0
    for w in r.workloads():
        for name, value in r.environment(w.container).items():
            if not name.endswith("_GRPC_TARGET"):
                continue
            targets += 1
            match = re.fullmatch(rf"dns:///([a-z0-9-]+)\.{NAMESPACE}\.svc:(\d+)", str(value))
            assert match, f"{variant}: {w.what} {name}={value!r} is not a dns:/// target in the namespace"
            headless = r.get("Service", match[1])
            assert headless["spec"]["clusterIP"] == "None", f"{variant}: {match[1]} is not headless"
            callee = name.removesuffix("_GRPC_TARGET").split("_", 1)[1].lower()
            pods = deployments[next(d for d in deployments if r.component(deployments[d]) == callee)]
            assert headless["spec"]["selector"] == pods["spec"]["selector"]["matchLabels"]
            (port,) = headless["spec"]["ports"]
            grpc_port = next(p for p in container(pods)["ports"] if p["name"] == "grpc")
            assert (
                (port["targetPort"], port["port"])
                == ("grpc", grpc_port["containerPort"])
                == ("grpc", int(match[2]))
            )
    assert targets >= 7, f"{variant}: expected the gateway's and the extraction service's gRPC targets"


@pytest.mark.parametrize("variant", VARIANTS)
def test_scaling_is_owned_by_exactly_one_autoscaler(rendered: dict[str, Rendered], variant: str) -> None:
    r = rendered[variant]
    targets: dict[str, list[str]] = {}
    for hpa in r.of_kind("HorizontalPodAutoscaler"):
        targets.setdefault(hpa["spec"]["scaleTargetRef"]["name"], []).append("HPA")
    for scaled in r.of_kind("ScaledObject"):
        targets.setdefault(scaled["spec"]["scaleTargetRef"]["name"], []).append("ScaledObject")
    for name, deployment in r.deployments().items():
        owners = targets.get(deployment["metadata"]["name"], [])
        assert len(owners) <= 1, f"{variant}/{name}: scaled by {owners}"
        # an autoscaled Deployment leaves `replicas` to its autoscaler, or every upgrade resets it
        assert ("replicas" in deployment["spec"]) == (not owners), f"{variant}/{name}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_topology_spread_when_enabled(rendered: dict[str, Rendered], variant: str) -> None:
    for name, deployment in rendered[variant].deployments().items():
        constraints = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
        values = merged_values(variant)
        spread = (
            values["components"][name]
            .get("topologySpread", {})
            .get("enabled", values["default"]["topologySpread"]["enabled"])
        )
        if not spread:
            assert not constraints, f"{variant}/{name}"
            continue
        keys = {c["topologyKey"] for c in constraints}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, f"{variant}/{name}"


def _settings(service: str) -> tuple[str, set[str], set[str]]:
    module, cls_name = SETTINGS[service]
    cls = getattr(importlib.import_module(module), cls_name)
    prefix = str(cls.model_config.get("env_prefix", ""))
    fields = {(prefix + name).upper(): f for name, f in cls.model_fields.items()}
    required = {name for name, f in fields.items() if f.is_required()}
    return prefix, set(fields), required


@pytest.mark.parametrize("variant", VARIANTS)
def test_environment_matches_the_services_settings(rendered: dict[str, Rendered], variant: str) -> None:
    """Every required setting is given, and every <PREFIX>_* variable the chart sets exists in the code."""
    r = rendered[variant]
    for w in r.workloads():
        prefix, known, required = _settings(w.service)
        env = r.environment(w.container)
        missing = required - set(env)
        assert not missing, f"{variant}: {w.what} lacks required settings {sorted(missing)}"
        unknown = {k for k in env if k.startswith(prefix) and k not in known}
        assert not unknown, f"{variant}: {w.what} sets variables its settings do not read: {sorted(unknown)}"
        if w.service == "gateway":
            assert env["GATEWAY_HTTP_HOST"] == "0.0.0.0"
        else:
            assert env[f"{prefix}GRPC_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_in_plain_configuration(rendered: dict[str, Rendered], variant: str) -> None:
    secret_like = re.compile(r"(PASSWORD|SECRET|ACCESS_KEY|DATABASE_URL|TOKEN)")
    r = rendered[variant]
    for config in r.of_kind("ConfigMap"):
        leaked = [k for k in config.get("data", {}) if secret_like.search(k)]
        assert not leaked, f"{variant}: ConfigMap {config['metadata']['name']} holds {leaked}"
    for w in r.workloads():
        for var in w.container.get("env", []):
            if secret_like.search(var["name"]):
                assert "secretKeyRef" in var.get("valueFrom", {}), (
                    f"{variant}: {w.what} {var['name']} is not from a Secret"
                )


@pytest.mark.parametrize("variant", VARIANTS)
def test_secret_references_resolve(rendered: dict[str, Rendered], variant: str) -> None:
    """Deployments read the chart's Secret or the operator's; migration Jobs (which run before the release's
    own objects exist) read the hook copy or the operator's, never the chart's regular Secret."""
    r = rendered[variant]
    chart_secrets = {s["metadata"]["name"]: s for s in r.of_kind("Secret")}
    hook_secrets = {
        n for n, s in chart_secrets.items() if "helm.sh/hook" in s["metadata"].get("annotations", {})
    }
    for w in r.workloads():
        for var in w.container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if not ref or ref["name"] not in chart_secrets:
                continue  # an operator's existing Secret
            assert ref["key"] in chart_secrets[ref["name"]]["data"], f"{variant}: {w.what} {var['name']}"
            assert (ref["name"] in hook_secrets) == w.is_job, f"{variant}: {w.what} reads {ref['name']}"


def test_production_takes_every_secret_from_existing_secrets(rendered: dict[str, Rendered]) -> None:
    assert not rendered["production"].of_kind("Secret"), (
        "production values should not make the chart write secrets"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_migrations_run_as_hook_jobs_when_enabled(rendered: dict[str, Rendered], variant: str) -> None:
    r = rendered[variant]
    jobs = r.of_kind("Job")
    enabled = bool(jobs)
    assert enabled == merged_values(variant)["migrations"]["job"]["enabled"], variant
    for name, deployment in r.deployments().items():
        env = r.environment(container(deployment))
        assert env[f"{name.upper()}_MIGRATE_ON_START"] == ("false" if enabled else "true"), (
            f"{variant}/{name}"
        )
    if not enabled:
        return
    assert sorted(j["metadata"]["labels"]["fieldstone.dev/database"] for j in jobs) == sorted(SERVICES)
    for job in jobs:
        annotations = job["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        spec = job["spec"]["template"]["spec"]
        service = job["metadata"]["labels"]["fieldstone.dev/database"]
        assert spec["containers"][0]["command"] == [f"fieldstone-{service}", "migrate"]
        assert spec["restartPolicy"] == "Never"
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
        assert spec["containers"][0]["resources"]["limits"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_ingress_reaches_only_the_gateway(rendered: dict[str, Rendered], variant: str) -> None:
    for ingress in rendered[variant].of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "fieldstone-gateway"
                assert path["backend"]["service"]["port"]["name"] == "http"
    if variant == "production":
        assert rendered[variant].of_kind("Ingress")[0]["spec"]["tls"]


def test_keda_scales_the_extraction_workers_on_their_consumer_lag(rendered: dict[str, Rendered]) -> None:
    r = rendered["keda-monitoring"]
    (scaled,) = r.of_kind("ScaledObject")
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "fieldstone-extraction",
    }
    kafka = next(t for t in scaled["spec"]["triggers"] if t["type"] == "kafka")
    # The group and topic the workers really use: Runtime.consume names groups <prefix>.<service>.<purpose>.
    topics = importlib.import_module("fieldstone.messaging").Topics
    assert kafka["metadata"]["topic"] == topics.EXTRACTION_JOBS
    bootstrap = (REPO / "services/extraction/src/fieldstone/extraction/bootstrap.py").read_text()
    assert 'runtime.consume("jobs", (Topics.EXTRACTION_JOBS,)' in bootstrap
    assert kafka["metadata"]["consumerGroup"] == "fieldstone-prod.extraction.jobs"
    assert not [
        h for h in r.of_kind("HorizontalPodAutoscaler") if h["metadata"]["name"] == "fieldstone-extraction"
    ]


def test_service_monitor_scrapes_the_gateway_metrics_port(rendered: dict[str, Rendered]) -> None:
    (monitor,) = rendered["keda-monitoring"].of_kind("ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["metadata"]["namespace"] == NAMESPACE


def test_dev_infrastructure_only_in_dev_variants(rendered: dict[str, Rendered]) -> None:
    for variant, r in rendered.items():
        stateful = sorted(r.component(s) for s in r.of_kind("StatefulSet"))
        dev = merged_values(variant)["devInfrastructure"]["enabled"]
        assert stateful == (["kafka", "minio", "postgres"] if dev else []), variant
        for s in r.of_kind("StatefulSet"):
            pod = s["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            container = pod["containers"][0]
            assert (
                container["resources"]["limits"]
                and container["readinessProbe"]
                and container["livenessProbe"]
            )
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
