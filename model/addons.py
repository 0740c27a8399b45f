"""The seed document's other addons, as the manifests their projects publish (reduced to what the model reads).

`spec.addons.dashboard` (the Web UI: kubernetes-dashboard, a Deployment),
`spec.addons.monitoring` (container resource monitoring: metrics-server, a
Deployment) and `spec.addons.logging` (cluster-level logging: a fluent-bit
DaemonSet, one agent per node, tolerating every taint).  Like the DNS addon
they are installed and settled before the scenario's own manifests
(model/bootstrap.py), and then run, fail and are replaced like any workload:
`deployment-converges` and `daemonset-converges` check their availability.
"""

from __future__ import annotations

from typing import List

from .objects import Container, DaemonSet, Deployment, ObjectMeta, PodSpec, PodTemplate, Resources, Toleration
from .quantity import cpu_millis, whole

NAMESPACE = "kube-system"


def _spec(name: str, image: str, cpu: str, memory: str, tolerations=()) -> PodSpec:
    return PodSpec(containers=(Container(name, image),), requests=Resources(cpu_millis(cpu), whole(memory), 1),
                   tolerations=tuple(tolerations))


def _deployment(name: str, image: str, cpu: str, memory: str) -> Deployment:
    labels = (("k8s-app", name),)
    return Deployment(meta=ObjectMeta(NAMESPACE, name, labels=labels), replicas=1, selector=labels,
                      template=PodTemplate(labels, _spec(name, image, cpu, memory)))


def addon_objects(dashboard: bool, monitoring: bool, logging: bool) -> List[object]:
    out: List[object] = []
    if dashboard:
        out.append(_deployment("kubernetes-dashboard", "kubernetesui/dashboard:v2.7.0", "100m", "200Mi"))
    if monitoring:
        out.append(_deployment("metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.2", "100m", "200Mi"))
    if logging:
        labels = (("k8s-app", "fluent-bit"),)
        out.append(DaemonSet(meta=ObjectMeta(NAMESPACE, "fluent-bit", labels=labels), selector=labels,
                             template=PodTemplate(labels, _spec("fluent-bit", "fluent/fluent-bit:3.1", "50m", "64Mi",
                                                                (Toleration("", "Exists"),)))))
    return out
