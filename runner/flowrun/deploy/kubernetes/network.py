"""NetworkPolicies: each component reaches only its inputs and the controller.

Policies add up: `<pipeline>-baseline` selects every pod of the pipeline and allows
nothing but DNS, so whatever no other policy allows is denied; each component's own then
allows its consumers in on its Flight port, anyone on its health port (the kubelet's
probes, Prometheus), and itself out to its inputs' Flight ports and the controller's gRPC
port. The controller lets the pipeline's pods in and goes out nowhere (the baseline's DNS
aside). A component that must reach something else (a ledger store, an RPC server) needs
a policy of the user's own beside these (docs/kubernetes.md).
"""

from __future__ import annotations

from typing import Any

from flowrun.deploy.kubernetes.controller import metrics_port
from flowrun.deploy.kubernetes.environment import PodPorts, controller_port
from flowrun.deploy.kubernetes.names import CONTROLLER, NETWORK_ROLE, Naming, port_of
from flowrun.spec.model import ControllerMode, PipelineBody

DNS_PORT = 53
BASELINE = "baseline"
Rule = dict[str, Any]


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def _policy(
    naming: Naming, part: str, selector: dict[str, str], ingress: list[Rule], egress: list[Rule]
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": naming.metadata(part, NETWORK_ROLE, naming.object_name(f"{part}-network")),
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def baseline_policy(naming: Naming) -> dict[str, Any]:
    dns = {"ports": [{"protocol": "UDP", "port": DNS_PORT}, _tcp(DNS_PORT)]}
    return _policy(naming, BASELINE, naming.all_pods(), [], [dns])


def controller_policy(body: PipelineBody, naming: Naming) -> dict[str, Any]:
    pods = {"podSelector": {"matchLabels": naming.all_pods()}}
    ingress: list[Rule] = [{"from": [pods], "ports": [_tcp(controller_port(body))]}]
    metrics = metrics_port(body)
    if metrics is not None:
        ingress.append({"ports": [_tcp(metrics)]})
    return _policy(naming, CONTROLLER, naming.selector(CONTROLLER), ingress, [])


def component_policy(
    name: str, body: PipelineBody, naming: Naming, ports: dict[str, PodPorts]
) -> dict[str, Any]:
    own = ports[name]
    ingress: list[Rule] = []
    consumers = [other for other, spec in body.components.items() if name in spec.inputs]
    if consumers and own.flight is not None:
        sources = [{"podSelector": {"matchLabels": naming.selector(c)}} for c in consumers]
        ingress.append({"from": sources, "ports": [_tcp(own.flight)]})
    if own.health is not None:
        ingress.append({"ports": [_tcp(own.health)]})
    egress: list[Rule] = []
    for upstream in body.components[name].inputs:
        port = ports[upstream].flight
        if port is not None:
            to = [{"podSelector": {"matchLabels": naming.selector(upstream)}}]
            egress.append({"to": to, "ports": [_tcp(port)]})
    egress += _to_controller(body, naming)
    return _policy(naming, name, naming.selector(name), ingress, egress)


def _to_controller(body: PipelineBody, naming: Naming) -> list[Rule]:
    mode = body.controller.mode
    if mode is ControllerMode.EMBEDDED:
        to = [{"podSelector": {"matchLabels": naming.selector(CONTROLLER)}}]
        return [{"to": to, "ports": [_tcp(controller_port(body))]}]
    if mode is ControllerMode.EXTERNAL:
        # Somewhere outside the pipeline: its port, wherever it is.
        port = port_of(body.controller.endpoint)
        return [{"ports": [_tcp(port)]}] if port else []
    return []
