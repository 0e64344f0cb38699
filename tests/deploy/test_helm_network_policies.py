"""The NetworkPolicies allow exactly the documented flows (docs/architecture.md, docs/operations.md).

The rendered policies are evaluated the way Kubernetes does — a pod selected by any policy of a direction
is isolated in it, and a flow needs an egress allow at the source and an ingress allow at the destination —
over the release's pods and a few pods outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .support import (
    CALL_GRAPH,
    INTERNET_EGRESS,
    NAMESPACE,
    OBJECT_STORAGE_USERS,
    PRIVATE_IPV4,
    PRIVATE_IPV6,
    SERVICES,
    Rendered,
    merged_values,
    variant_values,
)

POLICY_VARIANTS = [v for v in variant_values() if merged_values(v)["networkPolicy"]["enabled"]]


@dataclass(frozen=True)
class Pod:
    name: str
    labels: tuple[tuple[str, str], ...]
    namespace: str = NAMESPACE
    ports: tuple[int, ...] = ()

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def _pod(name: str, labels: dict[str, str], namespace: str = NAMESPACE, ports: tuple[int, ...] = ()) -> Pod:
    return Pod(name, tuple(sorted(labels.items())), namespace, ports)


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # pod addresses sit in the private ranges the ipBlocks exclude (checked below)
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], pod.namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return _selects(peer.get("podSelector"), pod.label_map)


def _rule_allows(rule: dict[str, Any], peers_key: str, other: Pod, port: int, protocol: str, ns: str) -> bool:
    peers = rule.get(peers_key)
    if peers and not any(_peer_matches(p, other, ns) for p in peers):
        return False
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports)


class Policies:
    def __init__(self, rendered: Rendered) -> None:
        self.items = rendered.of_kind("NetworkPolicy")

    def _direction(self, pod: Pod, kind: str) -> list[dict[str, Any]] | None:
        """The rules of every policy isolating `pod` in direction `kind`; None when it is not isolated."""
        selecting = [
            p
            for p in self.items
            if p["metadata"]["namespace"] == pod.namespace
            and kind in p["spec"].get("policyTypes", [])
            and _selects(p["spec"]["podSelector"], pod.label_map)
        ]
        if not selecting:
            return None
        key = "ingress" if kind == "Ingress" else "egress"
        return [rule for p in selecting for rule in (p["spec"].get(key) or [])]

    def allows(self, src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
        egress = self._direction(src, "Egress")
        ingress = self._direction(dst, "Ingress")
        out_ok = egress is None or any(
            _rule_allows(r, "to", dst, port, protocol, src.namespace) for r in egress
        )
        in_ok = ingress is None or any(
            _rule_allows(r, "from", src, port, protocol, dst.namespace) for r in ingress
        )
        return out_ok and in_ok

    def egress_rules(self, pod: Pod) -> list[dict[str, Any]]:
        return self._direction(pod, "Egress") or []


def _release_pods(r: Rendered) -> dict[str, Pod]:
    pods: dict[str, Pod] = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for obj in r.of_kind(kind):
            template = obj["spec"]["template"]
            name = template["metadata"]["labels"]["app.kubernetes.io/component"]
            ports = tuple(
                p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
            )
            pods.setdefault(name, _pod(name, template["metadata"]["labels"], ports=ports))
    return pods


INGRESS_CONTROLLER = _pod("ingress-controller", {"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx")
STRANGER_ELSEWHERE = _pod("stranger-elsewhere", {"app": "stranger"}, "default")
STRANGER_HERE = _pod("stranger-here", {"app": "stranger"})
KUBE_DNS = _pod("kube-dns", {"k8s-app": "kube-dns"}, "kube-system")


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_every_pod_starts_from_deny_all(rendered: dict[str, Rendered], variant: str) -> None:
    r = rendered[variant]
    deny = [
        p
        for p in r.of_kind("NetworkPolicy")
        if set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    for pod in _release_pods(r).values():
        assert any(_selects(p["spec"]["podSelector"], pod.label_map) for p in deny), f"{variant}: {pod.name}"


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_grpc_flows_are_exactly_the_call_graph(rendered: dict[str, Rendered], variant: str) -> None:
    policies = Policies(rendered[variant])
    pods = _release_pods(rendered[variant])
    allowed = set()
    for src in SERVICES:
        for dst in SERVICES:
            if src != dst:
                for port in pods[dst].ports:
                    if policies.allows(pods[src], pods[dst], port):
                        allowed.add((src, dst, port))
    expected = {(src, dst, 50051) for src, callees in CALL_GRAPH.items() for dst in callees}
    assert allowed == expected, (
        f"{variant}: unexpected {sorted(allowed - expected)}, missing {sorted(expected - allowed)}"
    )


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_only_the_gateway_accepts_traffic_from_outside_the_release(
    rendered: dict[str, Rendered], variant: str
) -> None:
    r = rendered[variant]
    policies = Policies(r)
    pods = _release_pods(r)
    for name in SERVICES:
        for port in pods[name].ports:
            assert policies.allows(INGRESS_CONTROLLER, pods[name], port) == (name == "gateway"), (
                f"{variant}: {name}"
            )
            assert not policies.allows(STRANGER_ELSEWHERE, pods[name], port), f"{variant}: {name}"
            assert not policies.allows(STRANGER_HERE, pods[name], port), f"{variant}: {name}"


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_every_pod_resolves_dns_and_nothing_else_by_default(
    rendered: dict[str, Rendered], variant: str
) -> None:
    r = rendered[variant]
    policies = Policies(r)
    for pod in _release_pods(r).values():
        for protocol in ("UDP", "TCP"):
            assert policies.allows(pod, KUBE_DNS, 53, protocol), f"{variant}: {pod.name} cannot resolve names"
        assert not policies.allows(pod, KUBE_DNS, 8080), f"{variant}: {pod.name}"
        # nothing from the release reaches arbitrary pods of its namespace on the services' ports
        assert not any(policies.allows(pod, STRANGER_HERE, port) for port in (8080, 50051)), pod.name


def _infrastructure_ports(
    policies: Policies, pods: dict[str, Pod], pod: Pod
) -> tuple[set[int], list[dict[str, Any]]]:
    """Egress ports towards anything that is not a Fieldstone service, and the ipBlock rules."""
    service_selectors = [pods[s].label_map for s in SERVICES]
    ports: set[int] = set()
    ip_rules = []
    for rule in policies.egress_rules(pod):
        peers = rule.get("to") or []
        if any("ipBlock" in p for p in peers):
            ip_rules.append(rule)
            continue
        if peers and all(
            "namespaceSelector" not in p and any(_selects(p.get("podSelector"), s) for s in service_selectors)
            for p in peers
        ):
            continue  # gRPC to a service
        if any(
            "namespaceSelector" in p
            and p.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
            for p in peers
        ):
            continue  # DNS
        ports |= {p["port"] for p in rule.get("ports", [])}
    return ports, ip_rules


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_infrastructure_and_internet_egress(rendered: dict[str, Rendered], variant: str) -> None:
    """Every service reaches Postgres and Kafka; files and extraction the object store; webhooks, alone,
    public addresses on 443 and never the private ranges."""
    r = rendered[variant]
    policies = Policies(r)
    pods = _release_pods(r)
    dev = bool(r.of_kind("StatefulSet"))
    values = merged_values(variant)
    s3_ports = {9000} if dev else set(values["networkPolicy"]["objectStorage"]["ports"])
    kafka_ports = {9092} if dev else set(values["networkPolicy"]["kafka"]["ports"])
    if not dev:  # the listener the services are pointed at is one the policies open
        bootstrap = {int(s.rsplit(":", 1)[1]) for s in values["kafka"]["bootstrapServers"].split(",")}
        assert bootstrap <= kafka_ports, f"{variant}: kafka.bootstrapServers ports {sorted(bootstrap)}"
    for name in SERVICES:
        ports, ip_rules = _infrastructure_ports(policies, pods, pods[name])
        expected = {5432} | kafka_ports | (s3_ports if name in OBJECT_STORAGE_USERS else set())
        assert ports == expected, f"{variant}: {name} egress ports {sorted(ports)}"
        if name not in INTERNET_EGRESS:
            assert not ip_rules, f"{variant}: {name} may reach the internet"
            continue
        (rule,) = ip_rules
        assert [p["port"] for p in rule["ports"]] == [443]
        blocks = {p["ipBlock"]["cidr"]: set(p["ipBlock"].get("except", [])) for p in rule["to"]}
        assert blocks["0.0.0.0/0"] >= PRIVATE_IPV4, f"{variant}: webhooks may reach private IPv4 ranges"
        assert blocks["::/0"] >= PRIVATE_IPV6, f"{variant}: webhooks may reach private IPv6 ranges"
    if dev:
        for name in SERVICES:
            assert policies.allows(pods[name], pods["postgres"], 5432), name
            assert policies.allows(pods[name], pods["kafka"], 9092), name
            assert policies.allows(pods[name], pods["minio"], 9000) == (name in OBJECT_STORAGE_USERS), name
        assert policies.allows(pods["minio"], pods["kafka"], 9092), "bucket notifications"
        assert not policies.allows(pods["minio"], pods["postgres"], 5432)
        assert not policies.allows(STRANGER_HERE, pods["postgres"], 5432)
        assert not policies.allows(STRANGER_HERE, pods["kafka"], 9092)


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_migration_jobs_reach_only_postgres(rendered: dict[str, Rendered], variant: str) -> None:
    r = rendered[variant]
    pods = _release_pods(r)
    if "migrations" not in pods:
        return
    policies = Policies(r)
    ports, ip_rules = _infrastructure_ports(policies, pods, pods["migrations"])
    assert ports == {5432} and not ip_rules
    assert not any(policies.allows(pods["migrations"], pods[s], 50051) for s in SERVICES)


@pytest.mark.parametrize("variant", [v for v in variant_values() if v not in POLICY_VARIANTS])
def test_policies_can_be_turned_off(rendered: dict[str, Rendered], variant: str) -> None:
    assert not rendered[variant].of_kind("NetworkPolicy")
