"""Inputs as users have them (issue 14, item 3): spec.manifests, kind: List exports, plain manifests on a
default cluster; and the registry of kinds as the one list of kinds."""

import json
import os
import re
import subprocess
import sys

import pytest

from model.scenario import ScenarioError, default_cluster, load_scenario, parse_scenario

from conftest import ROOT

CLUSTER = "apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: m}\nspec:\n  manifests: %s\n"
NODE = ("---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
        "status: {allocatable: {cpu: '4', memory: 8Gi, pods: '110'}}\n")
WEB = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n"
       "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
       "    spec: {containers: [{name: c, image: x}]}\n")
SVC = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"


def kinds(sc):
    return sorted(f"{o.kind} {o.meta.name}" for o in sc.objects if o.kind != "Namespace" and o.meta.namespace != "kube-system")


def test_manifests_folder_in_name_order_not_recursive_unless_asked(tmp_path):
    app = tmp_path / "app"
    (app / "sub").mkdir(parents=True)
    (app / "b-service.yml").write_text(SVC)
    (app / "a-web.yaml").write_text(WEB)
    (app / "notes.txt").write_text("not a manifest")
    (app / "sub" / "job.json").write_text(json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}))
    s = tmp_path / "s.yaml"
    s.write_text(CLUSTER % "[app/]" + NODE)
    assert kinds(load_scenario(str(s))) == ["Deployment web", "Service web"]
    s.write_text(CLUSTER % "[{path: app, recursive: true}]" + NODE)
    assert kinds(load_scenario(str(s))) == ["Deployment web", "Job once", "Service web"]
    s.write_text(CLUSTER % "[app/a-web.yaml]" + NODE)
    assert kinds(load_scenario(str(s))) == ["Deployment web"]
    # A manifest's errors name its own file and line.
    (app / "a-web.yaml").write_text(WEB.replace("replicas: 2", "replicas: two"))
    s.write_text(CLUSTER % "[app]" + NODE)
    with pytest.raises(ScenarioError, match=re.escape(f"{app / 'a-web.yaml'}:5: document 1 (Deployment web): "
                                                      "spec.replicas: expected an integer")):
        load_scenario(str(s))
    s.write_text(CLUSTER % "[missing/]" + NODE)
    with pytest.raises(ScenarioError, match="spec.manifests\\[0\\]: missing/: no such file or folder"):
        load_scenario(str(s))


def test_kind_list_export_with_server_fields_and_owned_objects(tmp_path):
    """`kubectl get deploy,rs,pod,svc -o yaml`: status and server-set metadata are accepted and ignored; the
    ReplicaSet and Pod its Deployment owns are left to the Deployment's controllers, and the report says so."""
    export = {
        "apiVersion": "v1", "kind": "List", "items": [
            {**_yaml(WEB), "metadata": {"name": "web", "namespace": "default", "uid": "1f2e", "resourceVersion": "812",
                                        "generation": 3, "creationTimestamp": "2026-01-01T00:00:00Z",
                                        "managedFields": [{"manager": "kubectl"}]},
             "status": {"replicas": 2, "readyReplicas": 2}},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "web-5d4f", "namespace": "default",
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                               "uid": "1f2e", "controller": True}]},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
            {**_yaml(SVC), "metadata": {"name": "web", "namespace": "default"},
             "status": {"loadBalancer": {}}},
        ]}
    f = tmp_path / "export.json"
    f.write_text(json.dumps(export))
    s = tmp_path / "s.yaml"
    s.write_text(CLUSTER % "[export.json]" + NODE)
    sc = load_scenario(str(s))
    assert kinds(sc) == ["Deployment web", "Service web"]
    assert any("ReplicaSet default/web-5d4f" in n and "left to its controller's Deployment web" in n for n in sc.notes)
    assert not sc.warnings, sc.warnings


def _yaml(text):
    import yaml
    return yaml.safe_load(text)


def test_plain_manifests_on_a_default_cluster(tmp_path):
    app = tmp_path / "shop"
    app.mkdir()
    (app / "web.yaml").write_text(WEB + "---\n" + SVC)
    sc = default_cluster(str(app), 3)
    assert [n.meta.name for n in sc.nodes] == ["worker-1", "worker-2", "worker-3"]
    assert sorted(sc.zone_of(n.meta.name) for n in sc.nodes) == ["zone-a", "zone-b", "zone-c"]
    assert sc.notes[0].startswith("default cluster (--nodes 3): 3 workers of 4 cpu")
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", str(app)], capture_output=True,
                       text=True, env=env, cwd=tmp_path)
    assert p.returncode == 2 and "is a folder of manifests" in p.stderr and "--nodes N" in p.stderr
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", str(app / "web.yaml")],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 2 and "no Cluster document" in p.stderr and "--nodes N" in p.stderr
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--nodes", "2",
                        "--property", "deployment-converges", "--traces", str(tmp_path / "t"), str(app)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "note: default cluster (--nodes 2)" in p.stdout and "deployment-converges" in p.stdout


def test_no_kind_is_listed_outside_the_registry():
    """The registry of kinds is the one list: no tuple or set of two kind names elsewhere in the source."""
    names = ["Pod", "Deployment", "ReplicaSet", "DaemonSet", "Job", "Service", "Node", "Namespace",
             "ServiceAccount", "CustomResourceDefinition", "EndpointSlice", "Lease"]
    alt = "|".join(names)
    listing = re.compile(rf"""["']({alt})["']\s*,\s*["']({alt})["']""")
    found = []
    for top in ("model", "properties", "kubecheck", "explorer"):
        for root, _, files in os.walk(os.path.join(ROOT, top)):
            if os.path.join("model", "kinds") in root:
                continue
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    for i, line in enumerate(open(path, encoding="utf-8"), 1):
                        if listing.search(line):
                            found.append(f"{os.path.relpath(path, ROOT)}:{i}: {line.strip()}")
    assert not found, "\n".join(found)


def test_every_component_says_which_client_it_acts_as():
    """The component registry (model/components/__init__.py): every component whose steps appear in the
    first states of each built-in scenario either names the client it acts as, or acts on no view; so
    `no-time-travel` follows every controller, the DaemonSet and Job controllers included."""
    import glob
    from explorer import check
    from kubecheck.compose import compose
    from model.components import CLIENTS, NO_VIEW
    from model.observation import client_of
    from model.kinds import pod_specs
    seen, schedulers = set(), set()
    for path in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml"))):
        sc = load_scenario(path)
        schedulers |= {spec.scheduler_name for spec in pod_specs(sc.objects)}
        comp = compose(sc)
        res = check(comp.system, max_states=60, reduction="none", symmetry=False)
        for s in res.search.graph.states[:60]:
            for rule in comp.system.rules:
                for lab, _ in rule.fn(s):
                    seen.add(lab[0])
                    if lab[0] in CLIENTS:
                        assert client_of(lab) is not None, lab
    unknown = {c for c in seen if c not in CLIENTS and c not in NO_VIEW}
    # A second scheduler's steps are named after its schedulerName, and bind as it.
    assert unknown <= schedulers, unknown
    assert {"daemonset", "job", "deployment", "replicaset", "kubelet", "default-scheduler"} <= seen


def test_a_change_must_name_an_object_that_exists():
    """Issue 17: a change naming an object no manifest or earlier change creates did nothing, silently."""
    head = ("apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  changes:\n"
            "    - scale: {kind: Deployment, name: wbe, replicas: 3}\n" + NODE + "---\n" + WEB)
    with pytest.raises(ScenarioError, match=r"spec.changes\[0\].scale: no manifest or earlier change creates "
                                            r"Deployment default/wbe: kubectl would answer NotFound \(the "
                                            r"scenario's Deployments there: web\)"):
        parse_scenario(head)
    assert parse_scenario(head.replace("name: wbe", "name: web")).changes[0].replicas == 3
    applied = head.replace("    - scale:", "    - apply: {apiVersion: apps/v1, kind: Deployment, metadata: {name: wbe}, "
                           "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, "
                           "spec: {containers: [{name: c, image: x}]}}}}\n    - scale:")
    assert [c.op for c in parse_scenario(applied).changes] == ["apply", "scale"]


def test_no_output_overwrites_a_manifest_the_scenario_reads(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "web.yaml").write_text(WEB)
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--nodes", "1", "--report",
                        str(app / "web.yaml"), str(app)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 2 and "would be overwritten" in p.stderr, p.stderr
    assert (app / "web.yaml").read_text() == WEB


ABSTRACTED = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: abstracted}
spec: {}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: default}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: r, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: default}
spec:
  template:
    metadata: {annotations: {kubecheck.io/exit-codes: "0"}}
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: perl}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""


def test_what_the_model_reads_as_an_abstraction_is_said():
    """A CronJob's schedule (abstract ticks), an autoscaler's metrics (one load level) and a Job's pods left to
    either outcome are each named in a note; a Job whose template declares its exit codes is not."""
    notes = parse_scenario(ABSTRACTED, os.path.join(ROOT, "scenarios", "abstracted.yaml")).notes
    said = [n for n in notes if not n.startswith("Nodes get")]
    assert said == [
        "CronJob default/report: schedule '*/5 * * * *' is abstract time: 2 scheduled times come, one after another "
        "(annotation kubecheck.io/ticks)",
        "CronJob default/report: each of its pods may succeed or fail (exit code 1); the annotation "
        "kubecheck.io/exit-codes on its pod template says which codes its containers end with",
        "HorizontalPodAutoscaler default/web: its metrics are one abstract load level, at target until a `load` change "
        "sets it low or high"], said
