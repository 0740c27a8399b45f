"""ReplicationControllers (model/kinds/replicationcontroller.py, kept by the ReplicaSet controller's code) and
headless Services (clusterIP None: EndpointSlices, no kube-proxy rule, DNS records of the ready pods)."""

import dataclasses
import os
import subprocess
import sys

import pytest

from explorer import check, render_label
from explorer.search import search
from kubecheck.compose import compose
from model.scenario import ScenarioError, load_scenario, parse_scenario

from conftest import ROOT, SCENARIOS

SETS = os.path.join(ROOT, "tests", "manifests")
NODES = """---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
"""
HEAD = "apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec: {}\n" + NODES
RC = """---
apiVersion: v1
kind: ReplicationController
metadata: {name: frontend}
spec:
  replicas: 2
%s
  template:
    metadata: {labels: {name: frontend, tier: web}}
    spec:
      containers: [{name: php, image: "gb-frontend:v4", resources: {requests: {cpu: 500m}}}]
"""


def text_of(name: str) -> str:
    return open(os.path.join(SCENARIOS, f"{name}.yaml")).read()


def verdicts(res) -> dict:
    return {v.prop: v.verdict for v in res.verdicts if v.verdict != "not-applicable"}


def run(text: str, reduction: str = "none", drop: str = ""):
    sc = parse_scenario(text, "<scenario>")
    comp = compose(sc)
    system = comp.system
    if drop:
        system = dataclasses.replace(system, rules=[r for r in system.rules if not r.name.startswith(drop)])
    return sc, comp, check(system, reduction=reduction, symmetry=False)


# -- ReplicationController: the manifest --------------------------------------------------------------------

def test_an_absent_selector_defaults_to_the_template_labels():
    """SetDefaults_ReplicationController: spec.selector and metadata.labels default to the template's labels."""
    sc = parse_scenario(HEAD + RC % "", "<scenario>")
    rc = next(o for o in sc.objects if o.kind == "ReplicationController")
    assert rc.selector == (("name", "frontend"), ("tier", "web")) == rc.meta.labels
    sc = parse_scenario(HEAD + RC % "  selector: {name: frontend}", "<scenario>")
    rc = next(o for o in sc.objects if o.kind == "ReplicationController")
    assert rc.selector == (("name", "frontend"),)     # equality-based: a plain map of labels


@pytest.mark.parametrize("body, field, message", [
    (RC % "  selector: {name: backend}", "spec.template.metadata.labels", "`selector` does not match template"),
    (RC.replace("containers:", "restartPolicy: Never\n      containers:") % "", "spec.template.spec.restartPolicy",
     "restartPolicy Always"),
    (RC.replace("    metadata: {labels: {name: frontend, tier: web}}\n", "") % "", "spec.selector",
     "neither spec.selector nor the template's labels"),
    ("---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: x}\nspec: {replicas: 1}\n",
     "spec.template", "required"),
    ("---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\n"
     "spec: {type: LoadBalancer, clusterIP: None, selector: {app: db}}\n", "spec.clusterIP",
     "may not be set to 'None' for LoadBalancer services"),
])
def test_bad_manifests_are_refused_with_one_message(body, field, message):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(HEAD + body, "<scenario>")
    assert field in str(e.value) and message in str(e.value)


def test_a_bad_replicationcontroller_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + RC % "  selector: {name: backend}")
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", str(path)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "`selector` does not match template `labels`" in p.stderr


def test_the_docs_replicationcontroller_manifest_loads():
    """kubernetes/website's controllers/replication.yaml (tests/manifests/replication-controller) loads as it
    is, without a warning: its RC makes 3 nginx pods."""
    from test_manifest_sets import scenario_of
    sc = parse_scenario(scenario_of("replication-controller"), os.path.join(SETS, "rc.scenario.yaml"))
    assert sc.warnings == ()
    rc = next(o for o in sc.objects if o.kind == "ReplicationController")
    assert (rc.meta.key, rc.replicas, rc.selector) == ("default/nginx", 3, (("app", "nginx"),))


# -- ReplicationController: the controller ------------------------------------------------------------------

def test_a_replicationcontroller_is_kept_exactly_as_the_same_replicaset():
    """Through the same code: rc-node-crash-room and the same scenario with a ReplicaSet of the same selector
    explore the same number of states and transitions, with the same verdicts."""
    rc_text = text_of("rc-node-crash-room")
    rs_text = rc_text.replace("apiVersion: v1\nkind: ReplicationController", "apiVersion: apps/v1\nkind: ReplicaSet")
    rs_text = rs_text.replace("  replicas: 2\n", "  replicas: 2\n  selector: {matchLabels: {name: frontend}}\n", 1)
    assert rs_text.count("kind: ReplicaSet") == 1
    _, _, a = run(rc_text)
    _, _, b = run(rs_text)
    assert (a.stats.distinct_states, a.stats.transitions) == (b.stats.distinct_states, b.stats.transitions)
    assert verdicts(a) == verdicts(b)
    assert verdicts(a)["pods-rescheduled-after-node-failure"] == "holds"


def test_the_room_verdict_depends_on_the_replicationcontroller_controller():
    """rc-node-crash-room: without the ReplicationController's rules, nothing replaces the evicted pod (nor
    makes the first ones): pods-rescheduled-after-node-failure is violated."""
    _, _, res = run(text_of("rc-node-crash-room"), drop="replicationcontroller.")
    assert verdicts(res)["pods-rescheduled-after-node-failure"] == "violated"
    assert verdicts(res)["stable-reconciliation"] == "violated"


def test_no_room_counterexample_leaves_a_pod_of_the_rc_pending():
    """rc-node-crash-no-room: the trace has the RC create its two pods and a node crash; the pod that was to go
    there stays Pending (kube-scheduler's Insufficient cpu is quoted).  n-plus-one-capacity counts the RC's pods."""
    _, comp, res = run(text_of("rc-node-crash-no-room"))
    v = next(v for v in res.verdicts if v.prop == "pods-rescheduled-after-node-failure")
    assert v.verdict == "violated"
    assert "ReplicationController default/frontend wants 2 pods, 1 Running and Ready" in v.diagnosis
    assert "Insufficient cpu" in v.diagnosis
    labels = [render_label(lab) for lab in v.trace.labels if lab is not None]
    assert any(lab.startswith("environment.node_crash") for lab in labels)
    assert sum(lab.startswith("replicationcontroller.create_pod(rc=default/frontend") for lab in labels) == 2
    ha = next(c for c in comp.claims if c.name == "n-plus-one-capacity").decide()
    assert not ha.holds and "ReplicationController default/frontend" in ha.diagnosis


def test_replicas_bounded_checks_the_replicationcontroller_creates():
    """replicas-bounded is checked on replicationcontroller.create_pod too: with expectations off and a cache a
    write behind, the RC creates a pod while it already owns spec.replicas in etcd."""
    text = (HEAD.replace("spec: {}", "spec:\n  behaviour: {expectations: false}\n  check: {maxStaleness: 1, maxDepth: 8}")
            + RC % "")
    sc = parse_scenario(text, "<scenario>")
    comp = compose(sc, ["replicas-bounded"])
    res = check(comp.system, max_depth=sc.max_depth, reduction="none", symmetry=False)
    v = next(v for v in res.verdicts if v.prop == "replicas-bounded")
    assert v.verdict == "violated"
    assert v.diagnosis.startswith("ReplicationController default/frontend created a pod while it already owned 2")


def test_deleting_a_replicationcontroller_collects_its_pods():
    """The RC owns its pods: a Background delete leaves no pod and no dangling owner reference
    (garbage-collected holds, and the search reaches the state where the RC and its pods are gone)."""
    text = (HEAD.replace("spec: {}", "spec:\n  changes:\n    - delete: {kind: ReplicationController, name: frontend}")
            + RC % "")
    _, comp, res = run(text)
    assert verdicts(res)["garbage-collected"] == "holds"
    graph = res.search.graph
    assert any(s.next_change == 1 and not s.store.replicationcontrollers and not s.store.pods for s in graph.states)


# -- headless Services ----------------------------------------------------------------------------------------

def final_states(res):
    graph = res.search.graph
    return [s for s in graph.states if all(p.ready for p in s.store.pods) and len(s.store.pods) == 4]


def test_headless_service_dns_answers_the_ready_pods_and_their_stable_names():
    """headless-statefulset-dns: once web-0 and web-1 are Ready, CoreDNS answers `nginx` with both addresses,
    web-0.nginx and web-1.nginx with each pod's own; no node has a kube-proxy rule for nginx."""
    _, _, res = run(text_of("headless-statefulset-dns"))
    assert verdicts(res)["dns-converges"] == "holds"
    settled = [s for s in res.search.graph.states
               if {p.meta.name for p in s.store.pods if p.ready and p.meta.namespace == "default"} == {"web-0", "web-1"}
               and any(name == "default/web-1.nginx" for name, _ in s.dns_records)]
    assert settled
    for s in settled:
        ips = {p.meta.name: p.ip for p in s.store.pods}
        recs = set(s.dns_records)
        assert {ip for name, ip in recs if name == "default/nginx"} == {ips["web-0"], ips["web-1"]}
        assert ("default/web-0.nginx", ips["web-0"]) in recs and ("default/web-1.nginx", ips["web-1"]) in recs
        slice_ = next(es for es in s.store.endpointslices if es.service == "nginx")
        assert sorted(e.hostname for e in slice_.endpoints) == ["web-0", "web-1"]
        pod = next(p for p in s.store.pods if p.meta.name == "web-0")
        assert (pod.spec.hostname, pod.spec.subdomain) == ("web-0", "nginx")
    for s in res.search.graph.states:
        for h in s.hosts:
            assert not any(key == "default/nginx" for key, _, _ in h.service_rules)


def test_dns_converges_fails_a_dns_that_answers_a_headless_service_as_a_clusterip_one(monkeypatch):
    """The goal is checked, not assumed: a CoreDNS that answered the headless Service with its spec.clusterIP,
    as the records were made before headless Services, violates dns-converges on the same scenario."""
    from model.components import dns
    monkeypatch.setattr(dns, "records_of",
                        lambda store: tuple(sorted((svc.meta.key, svc.cluster_ip) for svc in store.services)))
    _, _, res = run(text_of("headless-statefulset-dns"))
    v = next(v for v in res.verdicts if v.prop == "dns-converges")
    assert v.verdict == "violated"
    assert "DNS" in v.diagnosis and "default/nginx" in v.diagnosis


def test_a_servicename_that_names_no_service_leaves_the_stable_names_unanswered():
    """headless-servicename-mismatch: stuck; nginx is answered with both pods, but web-0.web is not, and the
    diagnosis says why (no Service web)."""
    _, _, res = run(text_of("headless-servicename-mismatch"))
    v = next(v for v in res.verdicts if v.prop == "dns-converges")
    assert v.verdict == "violated" and v.diagnosis.startswith("stuck")
    assert ("StatefulSet default/web's pod web-0 has no DNS name web-0.web (its spec.serviceName): no Service web "
            "exists in namespace default") in v.diagnosis
    last = v.trace.states[-1]
    names = {name for name, _ in last.dns_records}
    assert "default/nginx" in names and not any(".web" in n or ".nginx" in n for n in names)
    assert verdicts(res)["endpoints-converge"] == "holds"


def test_an_endpoint_gets_a_hostname_only_where_the_pods_subdomain_names_the_service():
    """ShouldSetHostname."""
    from model.components.endpointslice import endpoint_of
    from model.objects import ObjectMeta, Pod, PodSpec, Service
    svc = Service(meta=ObjectMeta("default", "nginx"), selector=(("app", "nginx"),), cluster_ip="None")
    pod = Pod(meta=ObjectMeta("default", "web-0", uid=3), spec=PodSpec(hostname="web-0", subdomain="nginx"),
              ip="10.244.0.9", ready=True)
    assert endpoint_of(pod, svc).hostname == "web-0"
    assert endpoint_of(Pod(meta=pod.meta, spec=PodSpec(hostname="web-0", subdomain="web"), ip=pod.ip), svc).hostname == ""
    assert endpoint_of(Pod(meta=ObjectMeta("other", "web-0"), spec=pod.spec, ip=pod.ip), svc).hostname == ""


def test_the_docs_web_statefulset_with_its_headless_service_loads_and_converges():
    """kubernetes/website's application/web/web.yaml (the StatefulSet Basics tutorial): the headless Service
    nginx now loads (it was left out), without a warning (its volumeClaimTemplates are modelled); on two workers
    the DNS answers web-0.nginx and web-1.nginx."""
    from test_manifest_sets import scenario_of
    text = scenario_of("web-statefulset")
    sc = parse_scenario(text, os.path.join(SETS, "web.scenario.yaml"))
    svc = next(o for o in sc.objects if o.kind == "Service" and o.meta.name == "nginx")
    assert svc.headless
    assert sc.warnings == ()
    text = text.replace("metadata: {name: w3", "metadata: {name: w3x").split("---\napiVersion: v1\nkind: Node\nmetadata: {name: w3x")[0]
    sc = parse_scenario(text, os.path.join(SETS, "web.scenario.yaml"))
    comp = compose(sc, ["dns-converges", "statefulset-converges"])
    res = check(comp.system)
    assert verdicts(res) == {"dns-converges": "holds", "statefulset-converges": "holds"}


@pytest.mark.parametrize("name", ["headless-statefulset-dns", "headless-servicename-mismatch", "rc-node-crash-room",
                                  "rc-node-crash-no-room"])
def test_footprints_hold_and_reductions_keep_the_verdicts(name):
    """The partial-order reduction's declarations (model/footprint.py: the replicationcontroller actor, CoreDNS
    reading EndpointSlices) hold on every step; the verdicts are those of the full search."""
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    if comp.system.independence is not None:
        search(comp.system, reduction="por", check_footprints=True, max_states=4000)
    assert verdicts(check(comp.system)) == verdicts(check(comp.system, reduction="none"))


def test_kubectl_scale_of_a_replicationcontroller_deletes_down_to_its_replicas():
    """`scale` applies to a ReplicationController: scaled from 2 to 1, its controller deletes a pod
    (replicationcontroller.delete_pod) and settles with one Running pod."""
    text = (HEAD.replace("spec: {}", "spec:\n  changes:\n    - scale: {kind: ReplicationController, name: frontend, "
                         "replicas: 1}") + RC % "")
    _, comp, res = run(text)
    assert verdicts(res)["stable-reconciliation"] == "holds"
    cov = {name: steps for name, steps, _ in res.stats.rule_coverage}
    graph = res.search.graph
    assert any(s.next_change == 1 and len([p for p in s.store.pods if p.active and p.phase == "Running"]) == 1
               and not any(p.meta.deleting for p in s.store.pods) for s in graph.states)
    assert cov["replicationcontroller.delete_pod"] > 0
