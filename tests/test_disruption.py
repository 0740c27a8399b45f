"""PodDisruptionBudgets, the Eviction API and kubectl drain (issue 15 item 2): model/kinds/poddisruptionbudget.py,
model/components/disruption.py, model/components/eviction.py, the node changes of model/components/user.py, and
the properties disruption-budget-respected and drain-completes."""

import os
import subprocess
import sys

import pytest

from explorer import check, render_label
from kubecheck.compose import compose
from model.kinds.manifest import ScenarioError
from model.scenario import load_scenario, parse_scenario

from conftest import ROOT, SCENARIOS


def _load(name):
    return load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))


def _text(name):
    with open(os.path.join(SCENARIOS, f"{name}.yaml")) as f:
        return f.read()


def _search(sc):
    comp = compose(sc)
    return comp, check(comp.system, reduction="none", symmetry=False)


def _verdicts(res):
    return {v.prop: v for v in res.verdicts}


def _steps(comp, s, rule_name):
    for rule in comp.system.rules:
        if rule.name == rule_name:
            yield from rule.fn(s)


def _healthy_web(s):
    return sum(1 for p in s.store.pods if p.meta.labels and ("app", "web") in p.meta.labels
               and p.ready and not p.meta.deleting)


def _evictions(comp, res):
    """(state, label, next state) of every eviction step enabled in a reachable state."""
    for s in res.search.graph.states:
        for lab, nxt in _steps(comp, s, "user.change"):
            if lab[1] == "evict":
                yield s, lab, nxt


def _ignore_budgets(monkeypatch):
    """A broken model: the Eviction subresource grants every eviction, spending nothing."""
    import model.components.eviction as eviction
    monkeypatch.setattr(eviction, "refusal", lambda pod, budgets: (None, False))


# ---- the pair of scenarios ----------------------------------------------------------------------------------

def test_a_budget_that_allows_no_disruption_blocks_the_drain_for_ever():
    """drain-blocked-by-budget: the drain is stuck on a refused eviction (429), a web pod Running and Ready on the
    cordoned n1; no healthy pod is ever evicted; a pod still Pending is evicted without the budget."""
    sc = _load("drain-blocked-by-budget")
    comp, res = _search(sc)
    v = _verdicts(res)
    d = v["drain-completes"]
    assert d.verdict == "violated" and "stuck" in d.diagnosis
    assert "429: the disruption budget web needs 2 healthy pods and has 2 currently" in d.diagnosis
    last = d.trace.states[-1]
    n1 = last.store.get("Node", "", "n1")
    assert n1.unschedulable and last.next_change == 0
    assert [p.meta.key for p in last.store.pods if p.spec.node_name == "n1" and p.ready and not p.meta.deleting]
    pdb = last.store.get("PodDisruptionBudget", "default", "web")
    assert (pdb.status.current_healthy, pdb.status.desired_healthy, pdb.status.disruptions_allowed) == (2, 2, 0)
    assert v["disruption-budget-respected"].verdict == "holds"
    granted = list(_evictions(comp, res))
    assert granted, "some pods are evicted: those still Pending"
    for s, lab, nxt in granted:
        pod = s.store.get("Pod", *dict(lab[2])["pod"].split("/", 1))
        assert pod.phase == "Pending" and not pod.ready, render_label(lab)
    # Some behaviours do drain n1 (both pods on n2, or evicted while Pending): the drain returns there.
    assert any(s.next_change == 1 for s in res.search.graph.states)


def test_a_budget_of_one_lets_the_drain_through_one_pod_at_a_time():
    """drain-one-at-a-time: the drain returns in every behaviour; after every granted eviction of a healthy pod at
    least one web pod is still healthy; and the second eviction is refused while the first is not replaced."""
    sc = _load("drain-one-at-a-time")
    comp, res = _search(sc)
    v = _verdicts(res)
    assert v["drain-completes"].verdict == "holds" and v["disruption-budget-respected"].verdict == "holds"
    healthy_evictions = 0
    for s, lab, nxt in _evictions(comp, res):
        pod = s.store.get("Pod", *dict(lab[2])["pod"].split("/", 1))
        if pod.ready and not pod.meta.deleting:
            healthy_evictions += 1
            assert _healthy_web(nxt) >= 1, render_label(lab)
    assert healthy_evictions
    refused = [s for s in res.search.graph.states
               if s.next_change == 0 and s.store.get("Node", "", "n1").unschedulable
               and any(p.spec.node_name == "n1" and p.ready and not p.meta.deleting for p in s.store.pods)
               and not any(lab[1] == "evict" for lab, _ in _steps(comp, s, "user.change"))]
    assert refused, "a state where the drain waits: its eviction refused (429)"
    finals = [s for s in res.search.graph.states if s.next_change == 1]
    assert finals and all(not any(p.spec.node_name == "n1" for p in s.store.pods) for s in finals)


def test_an_eviction_that_ignores_the_budget_violates_it(monkeypatch):
    """The same scenario with a broken Eviction subresource (every eviction granted): the shortest violation is an
    eviction before the controller computed the budget at all; and both web pods are evicted before a
    replacement is Ready, which the property catches on a computed status too."""
    _ignore_budgets(monkeypatch)
    comp, res = _search(_load("drain-one-at-a-time"))
    v = _verdicts(res)["disruption-budget-respected"]
    assert v.verdict == "violated"
    assert "status was for generation 0, the budget at 1" in v.diagnosis
    assert v.trace.labels[-1][:2] == ("user", "evict")
    prop = next(p for p in comp.system.actions if p.name == "disruption-budget-respected")
    both = []
    for s, lab, nxt in _evictions(comp, res):
        pdb = s.store.get("PodDisruptionBudget", "default", "web")
        if pdb.status.observed_generation == 1 and _healthy_web(s) == 1 and _healthy_web(nxt) == 0:
            both.append(prop.check(s, lab, nxt))
    assert both and all(both)       # every eviction that leaves no healthy web pod is a violation
    assert any("counted 2 healthy pods, 2 evicted since, and needs 1" in d for d in both)


CRASH = _text("drain-one-at-a-time").replace(
    "metadata: {name: drain-one-at-a-time}\nspec:\n",
    "metadata: {name: drain-during-crash}\nspec:\n  faults: {budget: 1, kinds: [node-crash]}\n")


def test_a_crash_takes_the_pods_below_the_budget_and_the_property_still_holds(monkeypatch):
    """With n2 allowed to crash: the node lifecycle controller marks its pod not Ready, and an eviction the
    controller's count (made before the crash) still allows is granted, leaving no healthy web pod in etcd --
    a PodDisruptionBudget does not protect against involuntary faults, and the property does not count them.
    The same scenario with an eviction that ignores the budget violates it."""
    sc = parse_scenario(CRASH, os.path.join(SCENARIOS, "drain-during-crash.yaml"))
    comp, res = _search(sc)
    assert _verdicts(res)["disruption-budget-respected"].verdict == "holds"
    below = []
    for s, lab, nxt in _evictions(comp, res):
        pod = s.store.get("Pod", *dict(lab[2])["pod"].split("/", 1))
        pdb = s.store.get("PodDisruptionBudget", "default", "web")
        if pod.ready and not pod.meta.deleting and _healthy_web(nxt) < pdb.status.desired_healthy:
            below.append((s, lab, nxt))
    assert below, "an eviction granted on a count from before the crash leaves fewer healthy pods than desired"
    for s, lab, nxt in below:
        assert s.faults_left == 0       # the crash came first: availability is below the budget involuntarily
    _ignore_budgets(monkeypatch)
    comp, res = _search(parse_scenario(CRASH, os.path.join(SCENARIOS, "drain-during-crash.yaml")))
    assert _verdicts(res)["disruption-budget-respected"].verdict == "violated"


# ---- the disruption controller --------------------------------------------------------------------------------

NODES = """---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
"""
WEB = """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""


def _scenario(*docs, changes=""):
    head = "apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n"
    if changes:
        head += "  changes:\n" + changes
    return parse_scenario(head + "".join(docs))


def _pdb(spec):
    return f"---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: web, namespace: default}}\nspec: {spec}\n"


def _settled(sc):
    """A state where every web pod runs (the first state with none left to start, in a search of `sc`)."""
    comp, res = _search(sc)
    return comp, [s for s in res.search.graph.states
                  if len([p for p in s.store.pods if p.ready]) == 4][0]


@pytest.mark.parametrize("spec, desired, expected", [
    ("{minAvailable: 3, selector: {matchLabels: {app: web}}}", 3, 4),
    ("{minAvailable: '50%', selector: {matchLabels: {app: web}}}", 2, 4),
    ("{minAvailable: '30%', selector: {matchLabels: {app: web}}}", 2, 4),     # 1.2 rounded up
    ("{maxUnavailable: 1, selector: {matchLabels: {app: web}}}", 3, 4),
    ("{maxUnavailable: '30%', selector: {matchLabels: {app: web}}}", 2, 4),   # 4 - ceil(1.2)
    ("{selector: {matchLabels: {app: web}}}", 0, 0),                         # neither: nothing allowed
])
def test_the_controller_computes_desired_healthy_as_get_expected_pod_count(spec, desired, expected):
    from model.components.disruption import computed_status
    comp, s = _settled(_scenario(NODES, WEB, _pdb(spec)))
    pdb = s.store.get("PodDisruptionBudget", "default", "web")
    st = computed_status(s.store, pdb)
    assert (st.current_healthy, st.desired_healthy, st.expected_pods) == (4, desired, expected)
    assert st.disruptions_allowed == (max(0, 4 - desired) if expected else 0)
    assert st.observed_generation == pdb.meta.generation


def test_pods_of_a_controller_without_scale_fail_safe():
    """A percentage over DaemonSet pods: getScaleController finds no /scale, so failSafe sets disruptionsAllowed
    to 0 and keeps the rest of the status (observedGeneration too, so the Eviction API still refuses)."""
    from model.components.disruption import computed_status, expected_pod_count
    ds = """---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: a, image: x}]}
"""
    sc = _scenario(NODES, ds, _pdb("{maxUnavailable: 1, selector: {matchLabels: {app: web}}}"))
    comp, res = _search(sc)
    s = next(s for s in res.search.graph.states if any(p.ready for p in s.store.pods))
    pdb = s.store.get("PodDisruptionBudget", "default", "web")
    pods = [p for p in s.store.pods]
    counts, why = expected_pod_count(s.store, pdb, pods)
    assert counts is None and "daemonsets does not implement the scale subresource" in why
    assert computed_status(s.store, pdb).disruptions_allowed == 0
    assert computed_status(s.store, pdb).observed_generation == pdb.status.observed_generation
    # An integer minAvailable counts the pods selected instead, whoever controls them.
    assert expected_pod_count(s.store, pdb.__class__(meta=pdb.meta, selector=pdb.selector, min_available="1"),
                              pods)[0] == (1, 1)


# ---- the Eviction subresource ---------------------------------------------------------------------------------

def _pod(ready=True, phase="Running", deleting=False, labels=(("app", "web"),)):
    from model.objects import ObjectMeta, Pod, PodSpec
    return Pod(meta=ObjectMeta("default", "p", 1, labels=labels, deleting=deleting), spec=PodSpec(node_name="n1"),
               phase=phase, ready=ready)


def _budget(current, desired, allowed, policy="IfHealthyBudget", generation=1, observed=1, name="web"):
    from model.objects import DisruptionBudgetStatus, ObjectMeta, PodDisruptionBudget
    return PodDisruptionBudget(meta=ObjectMeta("default", name, 2, generation=generation),
                               selector=(("app", "web"),), min_available=str(desired),
                               unhealthy_pod_eviction_policy=policy,
                               status=DisruptionBudgetStatus(observed, current, desired, 2, allowed))


def test_the_eviction_decides_as_eviction_go():
    from model.components.eviction import refusal
    healthy, unready = _pod(), _pod(ready=False)
    assert refusal(healthy, []) == (None, False)                                  # no budget: deleted
    assert refusal(healthy, [_budget(2, 1, 1)]) == (None, True)                   # spends the budget
    assert refusal(healthy, [_budget(2, 2, 0)])[0].startswith("429: the disruption budget web needs 2")
    assert "still being processed" in refusal(healthy, [_budget(2, 1, 1, generation=2)])[0]
    assert refusal(healthy, [_budget(2, 1, 1), _budget(2, 1, 1, name="other")])[0].startswith("500:")
    for p in (_pod(phase="Pending", ready=False), _pod(phase="Succeeded", ready=False), _pod(deleting=True)):
        assert refusal(p, [_budget(2, 2, 0)]) == (None, False)                   # canIgnorePDB
    # An unready pod: IfHealthyBudget deletes it while the budget is met, else only if it allows a disruption;
    # AlwaysAllow always deletes it, spending nothing.
    assert refusal(unready, [_budget(2, 2, 0)]) == (None, False)
    assert refusal(unready, [_budget(1, 2, 0)])[0].startswith("429")
    assert refusal(unready, [_budget(1, 2, 0, policy="AlwaysAllow")]) == (None, False)
    assert refusal(unready, [_budget(0, 0, 0)])[0].startswith("429")             # desiredHealthy 0: no free pass


# ---- kubectl drain, cordon, taint ------------------------------------------------------------------------------

def test_drain_skips_daemonset_pods_and_evicts_bare_and_finished_ones():
    from model.components.user import drained_by
    from model.objects import ObjectMeta, OwnerReference, Pod, PodSpec

    class Store:
        def __init__(self, daemonsets):
            self.daemonsets = daemonsets

        def by_uid(self, kind, uid):
            return self.daemonsets.get(uid)

    def pod(owner=None, phase="Running"):
        refs = (OwnerReference(owner, "x", 7, True),) if owner else ()
        return Pod(meta=ObjectMeta("default", "p", 1, owner_references=refs), spec=PodSpec(node_name="n1"),
                   phase=phase)

    with_ds, without_ds = Store({7: object()}), Store({})
    assert not drained_by(with_ds, pod("DaemonSet"))                 # --ignore-daemonsets
    assert drained_by(with_ds, pod("DaemonSet", phase="Failed"))     # any finished pod can be removed
    assert drained_by(without_ds, pod("DaemonSet"))                  # orphaned: --force
    assert drained_by(with_ds, pod())                                 # a bare pod: --force
    assert drained_by(with_ds, pod("ReplicaSet"))


TAINTED = """---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec:
  taints: [{key: a, value: "1", effect: NoSchedule}, {key: b, effect: NoExecute}]
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
"""


def test_taint_and_untaint_touch_only_the_named_taint_and_cordon_sets_unschedulable():
    from model.compose import build_model
    from model.components.user import make_change
    sc = _scenario(TAINTED, WEB, changes="    - taint: {node: n1, key: c, value: x, effect: NoSchedule}\n"
                                         "    - taint: {node: n1, key: a, value: '2', effect: NoSchedule}\n"
                                         "    - untaint: {node: n1, key: b}\n"
                                         "    - cordon: {node: n1}\n    - uncordon: {node: n1}\n")
    s = build_model(sc).init
    seen = []
    for ch in sc.changes:
        s = make_change(s, ch)
        n1 = s.store.get("Node", "", "n1")
        seen.append((sorted(str(t) for t in n1.taints), n1.unschedulable))
    assert seen == [(["a=1:NoSchedule", "b:NoExecute", "c=x:NoSchedule"], False),
                    (["a=2:NoSchedule", "b:NoExecute", "c=x:NoSchedule"], False),
                    (["a=2:NoSchedule", "c=x:NoSchedule"], False),
                    (["a=2:NoSchedule", "c=x:NoSchedule"], True),
                    (["a=2:NoSchedule", "c=x:NoSchedule"], False)]
    assert [c.describe() for c in sc.changes[:3]] == ["taint Node n1 c=x:NoSchedule",
                                                       "taint Node n1 a=2:NoSchedule", "untaint Node n1 b-"]


def test_a_noexecute_taint_change_evicts_the_pods_that_do_not_tolerate_it():
    """The taint-eviction controller is composed for a user's NoExecute taint, without any fault."""
    sc = _scenario(NODES.replace("n1", "n2") + NODES, WEB.replace("replicas: 4", "replicas: 1"),
                   changes="    - taint: {node: n1, key: maintenance, effect: NoExecute}\n")
    comp, res = _search(sc)
    assert any(r.name == "taint-eviction.evict" for r in comp.system.rules)
    finals = [s for s in res.search.graph.states
              if not any(True for r in comp.system.rules if r.fair for _ in r.fn(s))]
    assert finals and all([p.spec.node_name for p in s.store.pods if not p.meta.deleting] == ["n2"] for s in finals)


@pytest.mark.parametrize("change, message", [
    ("drain: {node: n9}", r"spec.changes\[0\].drain: no manifest or earlier change creates Node n9"),
    ("drain: {nodes: n1}", r"spec.changes\[0\].drain.nodes: unknown field"),
    ("taint: {node: n1, key: a, effect: NoRun}", r"spec.changes\[0\].taint.effect: expected NoSchedule, "
                                                 r"PreferNoSchedule, NoExecute, got 'NoRun'"),
    ("taint: {node: n1, key: a}", r"spec.changes\[0\].taint.effect: required field is missing"),
    ("untaint: {node: n1, key: 'a b'}", r"spec.changes\[0\].untaint.key: not a valid taint key"),
    ("evict: {node: n1}", r"unknown change 'evict'"),
])
def test_a_wrong_node_change_is_one_clear_error(change, message):
    with pytest.raises(ScenarioError, match=message):
        _scenario(NODES, WEB, changes=f"    - {change}\n")


@pytest.mark.parametrize("spec, message", [
    ("{minAvailable: 1, maxUnavailable: 1}", r"spec: minAvailable and maxUnavailable cannot be both set"),
    ("{minAvailable: '150%'}", r"spec.minAvailable: must not be greater than 100%"),
    ("{maxUnavailable: '2'}", r"spec.maxUnavailable: must be an integer or percentage .*a quoted number"),
    ("{minAvailable: -1}", r"spec.minAvailable: must be greater than or equal to 0"),
    ("{unhealthyPodEvictionPolicy: Sometimes}", r"spec.unhealthyPodEvictionPolicy: expected IfHealthyBudget or "
                                                r"AlwaysAllow, got 'Sometimes'"),
])
def test_a_wrong_budget_is_one_clear_error(spec, message):
    with pytest.raises(ScenarioError, match=r"PodDisruptionBudget default/web\): " + message):
        _scenario(NODES, WEB, _pdb(spec))


def test_a_wrong_change_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(_text("drain-one-at-a-time").replace("drain: {node: n1}", "drain: {node: n3}"))
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "kubecheck", "verify", str(path)], capture_output=True, text=True,
                         env=env, cwd=ROOT)
    assert out.returncode == 2
    assert "no manifest or earlier change creates Node n3" in out.stderr and "Traceback" not in out.stderr


def test_a_drain_leaves_the_daemonset_pod_and_evicts_a_bare_pod_for_good():
    """kubectl drain --ignore-daemonsets --force: the DaemonSet's pod on n1 stays, a bare pod is evicted (nothing
    re-creates it), and the drain returns in every behaviour."""
    ds = """---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: x, resources: {requests: {cpu: 100m}}}]}
"""
    bare = """---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: default}
spec: {nodeName: n1, containers: [{name: c, image: x}]}
"""
    sc = _scenario(NODES.replace("n1", "n2") + NODES, ds, bare, changes="    - drain: {node: n1}\n")
    comp, res = _search(sc)
    assert _verdicts(res)["drain-completes"].verdict == "holds"
    done = [s for s in res.search.graph.states if s.next_change == 1]
    assert done
    for s in done:
        assert s.store.get("Pod", "default", "lone") is None
        on_n1 = [p for p in s.store.pods if p.spec.node_name == "n1"]
        assert all(p.meta.owner_references[0].kind == "DaemonSet" for p in on_n1)
    assert any(any(p.spec.node_name == "n1" for p in s.store.pods) for s in done)   # the agent stays on n1
