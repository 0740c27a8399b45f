"""Ten real public manifest sets (tests/manifests/SOURCES.md) load from spec.manifests onto three workers,
with exactly the warnings pinned here: each names a field or kind that the model does not run and the
properties whose verdicts it may change.  Kinds without effect on any property (ConfigMap, Secret, RBAC,
NetworkPolicy, Ingress) are left out with a note instead."""

import os

import pytest

from model.scenario import ScenarioError, parse_scenario

from conftest import ROOT

SETS = os.path.join(ROOT, "tests", "manifests")
PLACEMENT_VOLUMES = "not modelled (volume binding and attachment are not modelled)"

EXPECTED = {
    "dashboard": ([], ["Secret", "ConfigMap", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]),
    "fluentd-daemonset": ([], []),
    "guestbook": ([], []),
    # The HorizontalPodAutoscaler is modelled (model/components/podautoscaler.py): its metrics are the load level.
    "hpa-php-apache": ([], []),
    "ingress": ([
        ("deployment.yaml:33", "Deployment tf-serving", "spec.template.spec.volumes[0].persistentVolumeClaim",
         f"{PLACEMENT_VOLUMES}: deployment-converges, n-plus-one-capacity and pods-rescheduled-after-node-failure "
         "may differ from a real cluster"),
        # PersistentVolumeClaims are modelled (model/kinds/persistentvolumeclaim.py): only its binding by name is not.
        ("pvc.yaml:11", "PersistentVolumeClaim my-model-pvc", "spec.volumeName",
         "not modelled (binding to a pre-provisioned PersistentVolume): statefulset-converges, deployment-converges "
         "and n-plus-one-capacity may differ from a real cluster"),
        ("pv.yaml:2", "PersistentVolume my-model-pv", "kind",
         "kind PersistentVolume is not modelled (volume binding and attachment are not modelled): "
         "deployment-converges, daemonset-converges, job-completes, n-plus-one-capacity and statefulset-converges "
         "may differ from a real cluster; 1 document left out"),
    ], ["Ingress"]),
    "mysql-statefulset": ([
        # The headless Service mysql is modelled (model/components/dns.py): no warning.
        # The StatefulSet is modelled (model/kinds/statefulset.py), its claims per pod too (attachdetach.py).
    ], ["ConfigMap"]),
    "network-policies": ([], ["NetworkPolicy"]),
    "online-boutique": ([], []),
    "voting-app": ([], []),
}


def scenario_of(name: str) -> str:
    text = (f"apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}}}\n"
            f"spec:\n  manifests: [{{path: {os.path.join(SETS, name)}, recursive: true}}]\n")
    for i, zone in enumerate("abc"):
        text += (f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: w{i + 1}, labels: "
                 f"{{topology.kubernetes.io/zone: {zone}}}}}\n"
                 "status: {allocatable: {cpu: '4', memory: 16Gi, pods: '110'}}\n")
    return text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_manifest_set_loads_with_exactly_these_warnings(name):
    sc = parse_scenario(scenario_of(name), os.path.join(SETS, f"{name}.scenario.yaml"))
    prefix = os.path.join(SETS, name) + os.sep
    got = []
    for w in sc.warnings:
        assert w.startswith(prefix), w
        where, rest = w[len(prefix):].split(": document 1 (", 1)
        what, rest = rest.split("): ", 1)
        field, message = rest.split(": ", 1)
        got.append((where, what, field, message))
    warnings, inert_kinds = EXPECTED[name]
    assert got == warnings
    assert [n.split(":", 1)[0] for n in sc.notes if "left out (" in n] == inert_kinds
    assert any(o.kind in ("Deployment", "DaemonSet") for o in sc.objects)


def test_removed_api_is_refused_as_the_apiserver_refuses_it():
    """The CronJob of kubernetes/website's example at the stored commit is batch/v1beta1, which Kubernetes
    removed in 1.25 (the oldest schemas shipped): an error naming what is served, not a silent drop (CronJob is
    modelled: the registry's kind says which apiVersion serves it)."""
    with pytest.raises(ScenarioError, match=r"cronjob\.yaml:1: document 1 \(CronJob hello\): apiVersion: CronJob is "
                                            r"served as batch/v1, got 'batch/v1beta1'"):
        parse_scenario(scenario_of("job-cronjob"), os.path.join(SETS, "job-cronjob.scenario.yaml"))
    text = scenario_of("job-cronjob").replace(f"{{path: {os.path.join(SETS, 'job-cronjob')}, recursive: true}}",
                                              os.path.join(SETS, "job-cronjob", "job.yaml"))
    sc = parse_scenario(text, os.path.join(SETS, "job.scenario.yaml"))
    assert [o.kind for o in sc.objects if o.kind == "Job"] == ["Job"] and not sc.warnings
