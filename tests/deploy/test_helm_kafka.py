"""Kafka over TLS and SASL: every Kafka client gets the <PREFIX>_KAFKA_* settings of `kafka:` (the password
from a Secret, the CA mounted where <PREFIX>_KAFKA_SSL_CAFILE points), the migrations Jobs (which never
reach Kafka) get none of them, and settings that cannot work fail the render with a message naming them."""

from __future__ import annotations

import copy
import json
import posixpath
from typing import Any

import pytest

from .support import SERVICES, Rendered, helm_template, merged_values, variant_values

VARIANTS = list(variant_values())
# The variant that connects over SASL_SSL with SCRAM, a CA Secret and replicated topics.
SECURE_VARIANT = "production"
CA_DIR = "/etc/fieldstone/kafka-ca"
CA_FILE = f"{CA_DIR}/ca.crt"
SASL_SETTINGS = ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")


def _kafka_env(r: Rendered, prefix: str, container: dict[str, Any]) -> dict[str, Any]:
    """The container's <prefix>_KAFKA_* variables without the prefix: literal values or valueFrom dicts."""
    return {
        name.removeprefix(f"{prefix}_"): value
        for name, value in r.environment(container).items()
        if name.startswith(f"{prefix}_KAFKA_")
    }


def _ca_volume(pod: dict[str, Any]) -> dict[str, Any] | None:
    return next((v for v in pod.get("volumes", []) if v["name"] == "kafka-ca"), None)


def _check_kafka_clients(r: Rendered, kafka: dict[str, Any]) -> None:
    """Every Deployment carries exactly the Kafka settings `kafka` (the chart values) asks for."""
    protocol = kafka["securityProtocol"]
    sasl, tls = kafka["sasl"], kafka["tls"]
    clients = 0
    for w in r.workloads():
        if w.is_job:
            continue
        prefix = w.service.upper()
        env = _kafka_env(r, prefix, w.container)
        where = f"{r.name}: {w.what}"
        expected: dict[str, Any] = {
            "KAFKA_BOOTSTRAP": env.get("KAFKA_BOOTSTRAP"),
            "KAFKA_SECURITY_PROTOCOL": protocol,
            "KAFKA_TOPIC_REPLICAS": str(kafka["topicReplicas"]),
        }
        if protocol.startswith("SASL_"):
            expected["KAFKA_SASL_MECHANISM"] = sasl["mechanism"]
            expected["KAFKA_SASL_USERNAME"] = sasl["username"]
            expected["KAFKA_SASL_PASSWORD"] = {
                "secretKeyRef": {"name": sasl["existingSecret"], "key": sasl["existingSecretKey"]}
            }
        if tls["caSecret"]:
            expected["KAFKA_SSL_CAFILE"] = CA_FILE
        assert env.get("KAFKA_BOOTSTRAP"), f"{where} is no Kafka client"
        assert env == expected, f"{where}: Kafka settings"
        clients += 1

        # The password is an EnvVar of the pod (valueFrom), never in the ConfigMap.
        direct = {v["name"] for v in w.container.get("env", [])}
        assert (f"{prefix}_KAFKA_SASL_PASSWORD" in direct) == protocol.startswith("SASL_"), where

        volume = _ca_volume(w.pod)
        mounts = [m for m in w.container["volumeMounts"] if m["name"] == "kafka-ca"]
        if not tls["caSecret"]:
            assert volume is None and not mounts, f"{where}: a Kafka CA volume without kafka.tls.caSecret"
            continue
        cafile = env["KAFKA_SSL_CAFILE"]
        (mount,) = mounts
        assert mount["readOnly"] is True, where
        assert posixpath.dirname(cafile) == mount["mountPath"], f"{where}: the CA is not where CAFILE points"
        assert volume is not None, where
        assert volume["secret"]["secretName"] == tls["caSecret"], where
        assert volume["secret"]["items"] == [{"key": tls["caSecretKey"], "path": posixpath.basename(cafile)}]
    assert clients == len(SERVICES), f"{r.name}: {clients} Kafka clients"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_kafka_client_gets_the_kafka_settings_of_its_values(
    rendered: dict[str, Rendered], variant: str
) -> None:
    _check_kafka_clients(rendered[variant], merged_values(variant)["kafka"])


def test_the_secure_variant_uses_sasl_ssl_scram_a_ca_and_three_replicas(
    rendered: dict[str, Rendered],
) -> None:
    """Spelled out, so the checks above keep covering SASL_SSL + SCRAM + CA even if the values change."""
    r = rendered[SECURE_VARIANT]
    for w in r.workloads():
        if w.is_job:
            continue
        prefix = w.service.upper()
        env = _kafka_env(r, prefix, w.container)
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", w.what
        assert env["KAFKA_SASL_MECHANISM"] in {"SCRAM-SHA-256", "SCRAM-SHA-512"}, w.what
        assert env["KAFKA_SASL_USERNAME"], w.what
        assert env["KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"], w.what
        assert env["KAFKA_SSL_CAFILE"] == CA_FILE, w.what
        assert env["KAFKA_TOPIC_REPLICAS"] == "3", w.what
        mount = next(m for m in w.container["volumeMounts"] if m["mountPath"] == CA_DIR)
        assert mount["readOnly"] is True, w.what
        volume = _ca_volume(w.pod)
        assert volume is not None and volume["secret"]["secretName"], w.what


def test_the_default_variant_stays_plaintext(rendered: dict[str, Rendered]) -> None:
    r = rendered["default"]
    for w in r.workloads():
        env = _kafka_env(r, w.service.upper(), w.container)
        assert env["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT", w.what
        assert env["KAFKA_TOPIC_REPLICAS"] == "1", w.what
        assert not set(SASL_SETTINGS) & set(env), w.what
        assert "KAFKA_SSL_CAFILE" not in env, w.what
        assert _ca_volume(w.pod) is None, w.what


@pytest.mark.parametrize("variant", [v for v in VARIANTS if merged_values(v)["migrations"]["job"]["enabled"]])
def test_migration_jobs_get_no_kafka_security_settings(rendered: dict[str, Rendered], variant: str) -> None:
    """`<service> migrate` touches Postgres only (its NetworkPolicy allows nothing else): it keeps the
    required bootstrap setting but gets no Kafka credentials, CA or protocol that would need them."""
    r = rendered[variant]
    jobs = [w for w in r.workloads() if w.is_job]
    assert jobs, variant
    for w in jobs:
        env = _kafka_env(r, w.service.upper(), w.container)
        assert set(env) == {"KAFKA_BOOTSTRAP"}, f"{variant}: {w.what} {sorted(env)}"
        assert _ca_volume(w.pod) is None, f"{variant}: {w.what}"


# Other protocols, rendered over the secure variant's values (--set keys and values).
Settings = dict[str, str | int | bool]
COMBINATIONS: dict[str, Settings] = {
    "ssl-system-trust": {
        "kafka.securityProtocol": "SSL",
        "kafka.sasl.username": "",
        "kafka.sasl.existingSecret": "",
        "kafka.tls.caSecret": "",
    },
    "ssl-ca": {"kafka.securityProtocol": "SSL", "kafka.sasl.username": "", "kafka.sasl.existingSecret": ""},
    "sasl-plaintext-plain": {
        "kafka.securityProtocol": "SASL_PLAINTEXT",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.tls.caSecret": "",
        "kafka.topicReplicas": 2,
    },
}


def _set_args(settings: Settings) -> list[str]:
    args: list[str] = []
    for key, value in settings.items():
        if isinstance(value, str):
            args += ["--set-string", f"{key}={value}"]
        else:  # true, false, 2
            args += ["--set", f"{key}={json.dumps(value)}"]
    return args


def _with_settings(values: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """values with the --set settings applied, as Helm does."""
    values = copy.deepcopy(values)
    for key, value in settings.items():
        *parents, leaf = key.split(".")
        node = values
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return values


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_other_protocols_render_what_they_need(helm: str, combination: str) -> None:
    settings = COMBINATIONS[combination]
    args = [*variant_values()[SECURE_VARIANT], *_set_args(settings)]
    r = Rendered.parse(combination, helm_template(helm, args).stdout)
    _check_kafka_clients(r, _with_settings(merged_values(SECURE_VARIANT), settings)["kafka"])


SASL_NEEDS = "needs kafka.sasl.username and kafka.sasl.existingSecret"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # SASL without credentials
        ({"kafka.sasl.username": ""}, f"kafka.securityProtocol=SASL_SSL {SASL_NEEDS}"),
        ({"kafka.sasl.existingSecret": ""}, f"kafka.securityProtocol=SASL_SSL {SASL_NEEDS}"),
        (
            {"kafka.sasl.username": "", "kafka.sasl.existingSecret": ""},
            f"kafka.securityProtocol=SASL_SSL {SASL_NEEDS}",
        ),
        (
            {"kafka.securityProtocol": "SASL_PLAINTEXT", "kafka.tls.caSecret": "", "kafka.sasl.username": ""},
            f"kafka.securityProtocol=SASL_PLAINTEXT {SASL_NEEDS}",
        ),
        # settings the protocol would ignore
        (
            {"kafka.securityProtocol": "SSL"},
            "kafka.sasl is set but kafka.securityProtocol=SSL does not use SASL",
        ),
        (
            {"kafka.securityProtocol": "SASL_PLAINTEXT"},
            "kafka.tls.caSecret is set but kafka.securityProtocol=SASL_PLAINTEXT does not use TLS",
        ),
        (
            {
                "kafka.securityProtocol": "PLAINTEXT",
                "kafka.sasl.username": "",
                "kafka.sasl.existingSecret": "",
            },
            "kafka.tls.caSecret is set but kafka.securityProtocol=PLAINTEXT does not use TLS",
        ),
        # the in-chart development Kafka speaks PLAINTEXT only
        ({"devInfrastructure.enabled": True, "migrations.job.enabled": False}, "needs an external Kafka"),
        # KEDA's Kafka scaler needs the same credentials
        ({"keda.enabled": True}, "keda.extraction.authenticationRef is required"),
        # the values schema
        ({"kafka.securityProtocol": "TLS"}, "/kafka/securityProtocol"),
        ({"kafka.sasl.mechanism": "GSSAPI"}, "/kafka/sasl/mechanism"),
    ],
)
def test_kafka_settings_that_cannot_work_fail_the_render(helm: str, settings: Settings, message: str) -> None:
    args = [*variant_values()[SECURE_VARIANT], *_set_args(settings)]
    result = helm_template(helm, args, check=False)
    assert result.returncode != 0, f"helm template {' '.join(args)} was accepted"
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("replicas", [0, -1])
def test_topic_replicas_below_one_are_refused(helm: str, replicas: int) -> None:
    result = helm_template(helm, _set_args({"kafka.topicReplicas": replicas}), check=False)
    assert result.returncode != 0
    assert "/kafka/topicReplicas" in result.stderr, result.stderr
