"""The model's components, and that each safety property catches a model broken on purpose."""

import copy
import os

import re

import attrs
import pytest

from explorer import Rule, check, label
from kubecheck.compose import compose
from model.canonical import canonical
from model.components import apiserver, kubelet, scheduler
from model.objects import Resources
from model.quantity import cpu_millis, whole
from model.scenario import load_scenario, parse_scenario

from conftest import SCENARIOS


def composed(name, props=()):
    return compose(load_scenario(os.path.join(SCENARIOS, f"{name}.yaml")), props)


def verdicts(system, max_states=None):
    return {v.prop: v for v in check(system, max_states=max_states).verdicts}


def replace_rule(system, name, fn):
    system.rules = [Rule(name, fn) if r.name == name else r for r in system.rules]
    return system


def test_quantities():
    assert cpu_millis("500m") == 500 and cpu_millis("2") == 2000 and cpu_millis(1.5) == 1500
    assert whole("4Gi") == 4 * 2**30 and whole("1k") == 1000 and whole("128974848") == 128974848
    assert cpu_millis("0.1") == 100 and whole("1e3") == 1000


def test_no_rule_changes_its_input():
    comp = composed("web-three-nodes")
    res = check(comp.system)
    for s in res.search.graph.states[:200]:
        before = copy.deepcopy(s)
        for rule in comp.system.rules:
            list(rule.fn(s))
        assert s == before


def test_rules_are_deterministic():
    comp = composed("web-two-nodes-crash")
    s = comp.system.init_states[0]
    for _ in range(6):
        a = [(l, canonical(t)) for r in comp.system.rules for l, t in r.fn(s)]
        b = [(l, canonical(t)) for r in comp.system.rules for l, t in r.fn(s)]
        assert a == b
        s = a[0][1]


def test_canonical_renumbers_uids_and_generated_names():
    comp = composed("tainted-only-room")
    s = comp.system.init_states[0]
    # Drive: create RS, three pods.
    for _ in range(4):
        s = canonical(next(t for r in comp.system.rules for l, t in r.fn(s)))
    pods = s.store.pods
    # uids: nodes big 1, small 2, namespace 3, Deployment 4, ReplicaSet 5, pods 6-8.
    assert [p.meta.uid for p in pods] == [6, 7, 8]
    # Remove the first pod by hand and canonicalise: uids become dense again, names follow.
    gone = attrs.evolve(s, store=s.store.remove(pods[0]))
    c = canonical(gone)
    uids = sorted(o.meta.uid for o in c.store.objects())
    assert uids == list(range(1, len(uids) + 1)) and c.store.next_uid == len(uids) + 1
    for p in c.store.pods:
        assert p.meta.name == f"{p.meta.generate_name}{p.meta.uid}"


# A Cluster document and one small Node, for scenarios written inline.
ONE_NODE = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: t}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "1", memory: 1Gi}}
"""


def test_canonical_collects_failed_replicaset_pods_but_not_bare_pods():
    sc = parse_scenario(ONE_NODE + """---
apiVersion: v1
kind: Pod
metadata: {name: big}
spec: {nodeName: n1, containers: [{name: c, image: x, resources: {requests: {cpu: "2"}}}]}
""")
    comp = compose(sc)
    res = check(comp.system)
    # The kubelet rejects the bare pod (OutOfcpu); it stays, Failed, since no controller counts it.
    last = res.search.graph.states[-1]
    (pod,) = last.store.pods
    assert pod.phase == "Failed" and pod.reason == "OutOfcpu"
    assert {v.prop: v.verdict for v in res.verdicts}["node-capacity"] == "holds"


def test_scheduler_filters():
    comp = composed("tainted-only-room")
    s = comp.system.init_states[0]
    for _ in range(2):
        s = canonical(next(t for r in comp.system.rules for l, t in r.fn(s)))
    binds = [l for l, t in scheduler.bind_rule(scheduler.DEFAULT).fn(s)]
    assert [dict(l[3])["node"] for l in binds] == ["small"]


def test_kubelet_admission_reasons():
    comp = composed("tainted-only-room")
    s = comp.system.init_states[0]
    node = s.store.get("Node", "", "small")
    host = s.host("small")
    from model.objects import ObjectMeta, Pod, PodSpec
    pod = Pod(ObjectMeta("default", "p"), PodSpec(requests=Resources(2000, 0, 1)))
    assert kubelet.admission_failure(node, host, pod) == "OutOfcpu"
    pod = Pod(ObjectMeta("default", "p"), PodSpec(requests=Resources(100, 0, 1)))
    assert kubelet.admission_failure(node, host, pod) is None


# --- each safety property catches a model broken on purpose -----------------

def test_taints_respected_catches_a_scheduler_that_ignores_taints(monkeypatch):
    monkeypatch.setattr(scheduler, "untolerated_taints", lambda node, pod, effects=None: [])
    comp = composed("tainted-only-room", ["taints-respected"])
    v = verdicts(comp.system)["taints-respected"]
    assert v.verdict == "violated"
    assert "bound pod default/web-" in v.diagnosis and "to node big" in v.diagnosis
    assert "dedicated=gpu:NoSchedule" in v.diagnosis


def test_node_capacity_catches_overbooking(monkeypatch):
    monkeypatch.setattr(scheduler, "feasible", lambda node, pod, used, *rest: True)
    monkeypatch.setattr(kubelet, "admission_failure", lambda node, host, pod: None)
    comp = composed("web-two-nodes-crash", ["node-capacity"])
    v = verdicts(comp.system)["node-capacity"]
    assert v.verdict == "violated"
    assert "holds 3 cpu of requests, allocatable 2" in v.diagnosis


def test_replicas_bounded_catches_a_controller_that_overcreates():
    from model.components import replicaset

    def create_always(s):
        for rs in s.store.replicasets:
            if len(s.store.pods) < 5:
                yield label("replicaset", "create_pod", (("rs", rs.meta.key),)), apiserver.create(s, replicaset.new_pod(rs))
    comp = composed("web-three-nodes", ["replicas-bounded"])
    v = verdicts(replace_rule(comp.system, "replicaset.create_pod", create_always), 5000)["replicas-bounded"]
    assert v.verdict == "violated"
    assert "already owned 3 active pods in etcd, spec.replicas 3" in v.diagnosis


def test_pod_single_node_catches_a_rebinding_scheduler():
    """A scheduler that re-binds a running pod to another node: both kubelets run it."""
    def rebind(s):
        for pod in s.store.pods:
            if pod.phase == "Running":
                for node in s.store.nodes:
                    if node.meta.name != pod.spec.node_name:
                        moved = attrs.evolve(pod, phase="Pending", spec=attrs.evolve(pod.spec, node_name=node.meta.name))
                        yield (label("default-scheduler", "bind", (("pod", pod.meta.key),), (("node", node.meta.name),)),
                               s.with_store(s.store.put(moved)))
    comp = composed("web-three-nodes", ["pod-single-node"])
    comp.system.rules = list(comp.system.rules) + [Rule("rebind", rebind)]
    v = verdicts(comp.system, max_states=5000)["pod-single-node"]
    assert v.verdict == "violated"
    assert re.search(r"has containers running on n\d and on n\d", v.diagnosis), v.diagnosis


def test_deployment_converges_catches_a_lazy_kubelet():
    """A kubelet that never reports Ready: the Deployment cannot converge (stuck)."""
    def run_not_ready(s):
        for l, t in kubelet.run_pod(s):
            yield l, t.with_store(t.store.put(attrs.evolve(
                t.store.get("Pod", *dict(l[2])["pod"].split("/")), ready=False)))
    comp = composed("web-three-nodes", ["deployment-converges"])
    replace_rule(comp.system, "kubelet.report_status", lambda s: iter(()))
    v = verdicts(replace_rule(comp.system, "kubelet.run_pod", run_not_ready))["deployment-converges"]
    assert v.verdict == "violated" and "0 Running and Ready" in v.diagnosis


RECREATE = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: recreate}
spec:
  changes:
    - apply:
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: default}
        spec:
          replicas: 2
          strategy: {type: %s}
          selector: {matchLabels: {app: web}}
          template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.28"}]}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "4", memory: 8Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  strategy: {type: %s}
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "nginx:1.27"}]}}
"""


def _images_running(s):
    return {p.spec.containers[0].image for p in s.store.pods if p.phase not in ("Succeeded", "Failed")}


@pytest.mark.parametrize("strategy,overlap", [("Recreate", False), ("RollingUpdate", True)])
def test_recreate_waits_for_old_pods_and_rolling_overlaps(strategy, overlap):
    from explorer import Invariant
    comp = compose(parse_scenario(RECREATE % (strategy, strategy)), ["deployment-converges"])
    comp.system.invariants = [Invariant("one-version", lambda s: "both" if len(_images_running(s)) > 1 else None)]
    v = verdicts(comp.system)
    assert v["deployment-converges"].verdict == "holds"
    assert (v["one-version"].verdict == "violated") == overlap


def test_apply_keeps_status():
    from model.components.user import make_change
    sc = parse_scenario("""apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  changes:
    - apply: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: n1, containers: [{name: c, image: "b"}]}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "1", memory: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {nodeName: n1, containers: [{name: c, image: "a"}]}
""")
    comp = compose(sc)
    s = comp.system.init_states[0]
    s = canonical(next(t for l, t in kubelet.run_pod(s)))
    after = make_change(s, sc.changes[0]).store.get("Pod", "default", "p")
    assert after.phase == "Running" and after.spec.containers[0].image == "b"
    assert after.meta.generation == 2


def test_past_keyspaces_hold_no_uid_counter():
    """A watch cache's past keyspace never allocates uids, so the history keeps next_uid 0: otherwise two
    states equal but for the uids allocated since would differ, and a trace re-derived in its presentation
    form (not renumbered) could miss its next step (a Job on a lagging cache hit exactly this)."""
    from test_scenarios import run
    sc, comp, res = run("rs-create-timeout")
    with_history = [s for s in res.search.graph.states if s.history]
    assert with_history
    assert all(h.next_uid == 0 for s in with_history for h in s.history)


def test_custom_resources_are_stored_and_served():
    from model.components.apiserver import create, get_custom
    from model.objects import evolve as ev
    comp = composed("custom-resource")
    s = comp.system.init_states[0]
    got = get_custom(s, "kubectl", "example.com/v1", "Backup", "default", "nightly")
    assert got is not None and dict(got.spec) == {"schedule": "0 2 * * *", "retain": "7"}
    assert get_custom(s, "kubectl", "example.com/v2", "Backup", "default", "nightly") is None   # version not served
    res = check(comp.system)
    last = res.search.graph.states[-1]
    assert dict(get_custom(last, "kubectl", "example.com/v1", "Backup", "default", "nightly").spec)["retain"] == "14"
    assert get_custom(last, "kubectl", "example.com/v1", "Backup", "default", "weekly") is not None
    # Without its CRD the kind is not served: reads and creates are 404.
    (crd,) = last.store.crds
    gone = ev(last, store=last.store.remove(crd))
    assert get_custom(gone, "kubectl", "example.com/v1", "Backup", "default", "weekly") is None
    (weekly,) = [o for o in last.store.custom_objects if o.meta.name == "weekly"]
    assert create(gone, ev(weekly, meta=ev(weekly.meta, name="monthly"))) is None
    assert create(last, ev(weekly, meta=ev(weekly.meta, name="monthly"))) is not None


def test_custom_kind_without_its_crd():
    from model.scenario import ScenarioError
    text = ONE_NODE + """---
apiVersion: example.com/v1
kind: Backup
metadata: {name: b}
"""
    # Alone, it leaves nothing to check: an error, not a run of nothing.
    with pytest.raises(ScenarioError, match="left out: Backup .*no CustomResourceDefinition.*nothing would be checked"):
        parse_scenario(text)
    sc = parse_scenario(text + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                        "spec: {containers: [{name: c, image: x}]}\n")
    assert [o.kind for o in sc.objects if o.kind != "Namespace"] == ["Pod"]
    assert any("kind Backup is not modelled yet, and no CustomResourceDefinition" in w for w in sc.warnings)
    bad = text.replace("apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: t}",
                       "apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  changes:\n"
                       "    - apply: {apiVersion: example.com/v1, kind: Backup, metadata: {name: c}}")
    with pytest.raises(ScenarioError, match="no CustomResourceDefinition"):
        parse_scenario(bad)


def test_pods_wait_for_their_namespace_serviceaccount():
    comp = composed("serviceaccount-new-namespace")
    res = check(comp.system)
    v = {x.prop: x.verdict for x in res.verdicts}
    assert v["default-serviceaccount"] == "holds" and v["deployment-converges"] == "holds"
    states = res.search.graph.states
    assert all(not s.store.pods or s.store.serviceaccounts for s in states)
    assert any(s.store.replicasets and not s.store.serviceaccounts for s in states)   # the RS did wait
    # Without the ServiceAccount controller, nothing is ever admitted.
    comp = composed("serviceaccount-new-namespace")
    comp.system.rules = [r for r in comp.system.rules if r.name != "serviceaccount.create_default"]
    v = {x.prop: x for x in check(comp.system).verdicts}
    assert v["default-serviceaccount"].verdict == "violated"
    assert "Namespace team-a has no default ServiceAccount" in v["default-serviceaccount"].diagnosis
    assert v["deployment-converges"].verdict == "violated"


def test_node_status_follows_heartbeats():
    comp = composed("node-partition-eviction", ("node-status-converges",))
    (v,) = check(comp.system).verdicts
    assert v.verdict == "holds"
    # A node lifecycle controller that never marks a silent Node is caught.
    comp.system.rules = [r for r in comp.system.rules if r.name != "nodelifecycle.mark_unreachable"]
    (v,) = check(comp.system).verdicts
    assert v.verdict == "violated" and "is still Ready though its machine is cut off" in v.diagnosis


def test_cluster_addons_run_from_the_start_and_move_after_a_crash():
    comp = composed("cluster-addons")
    s = comp.system.init_states[0]
    running = sorted(p.meta.name.rsplit("-", 2)[0] if p.meta.owner_references[0].kind == "ReplicaSet"
                     else p.meta.name.rsplit("-", 1)[0] for p in s.store.pods if p.phase == "Running")
    assert running == ["fluent-bit", "fluent-bit", "kubernetes-dashboard", "metrics-server"]
    res = check(comp.system)
    v = {x.prop: x.verdict for x in res.verdicts}
    assert v["deployment-converges"] == "holds" and v["daemonset-converges"] == "holds"
    # Not vacuous: after a crash, both Deployments' pods run on the machine left.
    after = [t for t in res.search.graph.states if sum(h.up for h in t.hosts) == 1 and
             len([p for p in t.store.pods if p.phase == "Running" and p.active and t.host(p.spec.node_name).up
                  and p.meta.owner_references[0].kind == "ReplicaSet"]) == 2]
    assert after


def test_failover_relist_never_goes_back_with_the_reflector():
    """After its apiserver crashes, the controller-manager fails over to the other, whose cache lags: with
    client-go's relist at the last resourceVersion its view is pinned to what it had seen; with "0" it is not."""
    from explorer import render_label
    comp = composed("informer-relist-last-synced")
    res = check(comp.system)
    g = res.search.graph
    lagging = [s for s in g.states if s.instance_of("kube-controller-manager") == 1 and s.apiservers_up[1]
               and s.cache_lag[1] > 0]
    assert lagging, "no failover onto a lagging cache is reachable: the check is vacuous"
    assert any(s.pin_of("kube-controller-manager") is not None for s in lagging)
    v = {x.prop: x for x in check(composed("informer-relist-cache").system).verdicts}["replicas-bounded"]
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert v.verdict == "violated" and "apiserver.failover(client=kube-controller-manager, to=2)" in labels


def test_kubelet_relist_default_is_upstream_and_quorum_is_an_old_name():
    """A restarted kubelet lists at resourceVersion "0" upstream (issue 59848 is open): `cache` is the default;
    `quorum` loads as `consistent`, with a warning saying it is not what upstream does."""
    assert parse_scenario(ONE_NODE).kubelet_relist == "cache"
    old = ONE_NODE.replace("metadata: {name: t}", "metadata: {name: t}\nspec: {behaviour: {kubeletRelist: quorum}}")
    sc = parse_scenario(old)
    assert sc.kubelet_relist == "consistent"
    assert any("quorum is the old name of consistent" in w for w in sc.warnings)
