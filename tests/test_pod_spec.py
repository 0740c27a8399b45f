"""The pod-spec fields that decide placement and convergence (issue 14, item 4): each with a scenario whose
verdict depends on it and the same scenario without the field.

The clusters are one or two small nodes and a Deployment of two replicas, so that each search is a few
hundred states: the verdict differs only because of the field under test.
"""

import pytest

from explorer import check
from kubecheck.compose import compose
from model.scenario import ScenarioError, parse_scenario

CLUSTER = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: podspec}
spec: {check: {properties: [deployment-converges, daemonset-converges, n-plus-one-capacity]}}
"""


def node(name, cpu="2", zone="a", extra="", spec=""):
    return (f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{topology.kubernetes.io/zone: {zone}}}}}\n"
            f"{spec}status: {{allocatable: {{cpu: '{cpu}', memory: 4Gi, pods: '110'{extra}}}}}\n")


def deployment(pod_spec: str, replicas=2, name="web", labels="{app: web}", selector="{matchLabels: {app: web}}"):
    body = "\n".join("      " + line for line in pod_spec.strip().splitlines())
    return (f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n"
            f"  selector: {selector}\n  template:\n    metadata: {{labels: {labels}}}\n    spec:\n{body}\n")


class _Claimed:
    def __init__(self, result):
        self.verdict = "holds" if result.holds else "violated"
        self.diagnosis = result.diagnosis


def run(text):
    """The scenario's verdicts: the search's, and the Z3 claims' (n-plus-one-capacity)."""
    sc = parse_scenario(text)
    comp = compose(sc)
    res = check(comp.system)
    out = {v.prop: v for v in res.verdicts}
    out.update({c.name: _Claimed(c.decide()) for c in comp.claims})
    return sc, out


def converges(text) -> bool:
    _, v = run(text)
    assert v["deployment-converges"].verdict in ("holds", "violated"), v["deployment-converges"].diagnosis
    return v["deployment-converges"].verdict == "holds"


def test_missing_requests_default_from_limits_per_resource():
    """SetDefaults_Pod: the cpu limit is the cpu request when only memory is requested."""
    with_limits = "containers: [{name: c, image: x, resources: {requests: {memory: 1Gi}, limits: {cpu: 1500m}}}]"
    without = "containers: [{name: c, image: x, resources: {requests: {memory: 1Gi}}}]"
    sc = parse_scenario(CLUSTER + node("n1") + deployment(with_limits))
    assert sc.of_kind("Deployment")[0].template.spec.requests.cpu == 1500
    assert not converges(CLUSTER + node("n1") + deployment(with_limits))
    assert converges(CLUSTER + node("n1") + deployment(without))


def test_init_containers_and_sidecars_count_as_kube_scheduler_counts_them():
    main = "{name: c, image: x, resources: {requests: {cpu: 500m}}}"
    init = "initContainers: [{name: i, image: x, resources: {requests: {cpu: 1800m}}}]"
    sidecar = "initContainers: [{name: s, image: x, restartPolicy: Always, resources: {requests: {cpu: 600m}}}]"
    sc = parse_scenario(CLUSTER + node("n1") + deployment(f"containers: [{main}]\n{init}"))
    assert sc.of_kind("Deployment")[0].template.spec.requests.cpu == 1800       # the larger of 500m and 1800m
    sc = parse_scenario(CLUSTER + node("n1") + deployment(f"containers: [{main}]\n{sidecar}"))
    assert sc.of_kind("Deployment")[0].template.spec.requests.cpu == 1100       # the sidecar runs beside
    # A sidecar declared before an init container counts towards it too: 600m + 1800m.
    both = ("initContainers: [{name: s, image: x, restartPolicy: Always, resources: {requests: {cpu: 600m}}}, "
            "{name: i, image: x, resources: {requests: {cpu: 1800m}}}]")
    sc = parse_scenario(CLUSTER + node("n1", cpu="3") + deployment(f"containers: [{main}]\n{both}"))
    assert sc.of_kind("Deployment")[0].template.spec.requests.cpu == 2400
    assert not converges(CLUSTER + node("n1") + deployment(f"containers: [{main}]\n{init}"))
    assert not converges(CLUSTER + node("n1") + deployment(f"containers: [{main}]\n{sidecar}"))
    assert converges(CLUSTER + node("n1") + deployment(f"containers: [{main}]"))


def test_overhead_is_added():
    main = "containers: [{name: c, image: x, resources: {requests: {cpu: 900m}}}]"
    assert not converges(CLUSTER + node("n1") + deployment(f"{main}\noverhead: {{cpu: 200m}}"))
    assert converges(CLUSTER + node("n1") + deployment(main))


def test_host_ports_keep_two_pods_off_one_node():
    ported = "containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]"
    plain = "containers: [{name: c, image: x, ports: [{containerPort: 80}]}]"
    sc, v = run(CLUSTER + node("n1") + deployment(ported))
    assert v["deployment-converges"].verdict == "violated"
    assert "free ports" in v["deployment-converges"].diagnosis
    assert v["n-plus-one-capacity"].verdict == "violated"
    assert "even with every node up" in v["n-plus-one-capacity"].diagnosis       # not "if node n1 fails"
    _, v = run(CLUSTER + node("n1") + node("n2") + deployment(ported))
    assert v["deployment-converges"].verdict == "holds"
    assert v["n-plus-one-capacity"].verdict == "violated" and "fails" in v["n-plus-one-capacity"].diagnosis
    assert converges(CLUSTER + node("n1") + deployment(plain))
    # hostNetwork: every containerPort is a host port.
    assert not converges(CLUSTER + node("n1") + deployment(f"{plain}\nhostNetwork: true"))


def test_match_expressions_select_as_kubernetes_selects():
    """A required anti-affinity whose selector is matchExpressions: it selects the Deployment's own pods
    (In [web]) or none of them (In [db]); before, the expressions were dropped and it selected every pod."""
    def anti(values):
        return ("containers: [{name: c, image: x}]\naffinity:\n  podAntiAffinity:\n"
                "    requiredDuringSchedulingIgnoredDuringExecution:\n"
                f"    - labelSelector: {{matchExpressions: [{{key: app, operator: In, values: [{values}]}}]}}\n"
                "      topologyKey: kubernetes.io/hostname")
    assert not converges(CLUSTER + node("n1") + deployment(anti("web")))
    assert converges(CLUSTER + node("n1") + deployment(anti("db")))
    # A workload's selector with matchExpressions: NotIn excludes the template's labels, which is refused.
    bad = deployment("containers: [{name: c, image: x}]",
                     selector="{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}")
    with pytest.raises(ScenarioError, match="does not match template"):
        parse_scenario(CLUSTER + node("n1") + bad)
    good = deployment("containers: [{name: c, image: x}]",
                      selector="{matchExpressions: [{key: app, operator: Exists}]}")
    assert converges(CLUSTER + node("n1") + good)


def test_required_pod_affinity():
    """The cache must run in the zone of a db pod; the db is pinned to zone a, and the cache's nodeSelector
    asks for zone b: it can never be placed.  Without the affinity it can."""
    db = deployment("containers: [{name: db, image: x}]\nnodeSelector: {topology.kubernetes.io/zone: a}",
                    replicas=1, name="db", labels="{app: db}", selector="{matchLabels: {app: db}}")
    affinity = ("\naffinity:\n  podAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n"
                "    - labelSelector: {matchLabels: {app: db}}\n      topologyKey: topology.kubernetes.io/zone")
    cache = "containers: [{name: c, image: x}]\nnodeSelector: {topology.kubernetes.io/zone: b}"
    nodes = node("n1", zone="a") + node("n2", zone="b")
    sc, v = run(CLUSTER + nodes + db + deployment(cache + affinity, replicas=1, name="cache"))
    assert v["deployment-converges"].verdict == "violated"
    assert "pod affinity" in v["deployment-converges"].diagnosis
    assert v["n-plus-one-capacity"].verdict == "violated"
    assert converges(CLUSTER + nodes + db + deployment(cache, replicas=1, name="cache"))
    # Towards zone a it is placed beside the db.
    cache_a = "containers: [{name: c, image: x}]"
    assert converges(CLUSTER + nodes + db + deployment(cache_a + affinity, replicas=1, name="cache"))


def test_cordoned_node_takes_daemon_pods_only():
    cordoned = node("n1", spec="spec: {unschedulable: true}\n")
    ds = ("---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n"
          "  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n"
          "    spec: {containers: [{name: a, image: x}]}\n")
    web = deployment("containers: [{name: c, image: x}]", replicas=1)
    sc, v = run(CLUSTER + cordoned + ds + web)
    assert v["deployment-converges"].verdict == "violated" and "unschedulable" in v["deployment-converges"].diagnosis
    assert v["daemonset-converges"].verdict == "holds"      # it tolerates node.kubernetes.io/unschedulable
    _, v = run(CLUSTER + node("n1") + ds + web)
    assert v["deployment-converges"].verdict == "holds"


def test_extended_resources():
    gpu = "containers: [{name: c, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]"
    assert not converges(CLUSTER + node("n1", extra=", nvidia.com/gpu: 1") + deployment(gpu))
    assert converges(CLUSTER + node("n1", extra=", nvidia.com/gpu: 2") + deployment(gpu))
    sc = parse_scenario(CLUSTER + node("n1") + deployment(gpu))
    assert any("requests nvidia.com/gpu, which no Node's status.allocatable has" in w for w in sc.warnings)


def test_nodes_carry_the_labels_their_kubelets_register():
    linux = "containers: [{name: c, image: x}]\nnodeSelector: {kubernetes.io/os: linux}"
    windows = "containers: [{name: c, image: x}]\nnodeSelector: {kubernetes.io/os: windows}"
    sc = parse_scenario(CLUSTER + node("n1") + deployment(linux))
    assert dict(sc.nodes[0].meta.labels)["kubernetes.io/hostname"] == "n1"
    assert converges(CLUSTER + node("n1") + deployment(linux))
    assert not converges(CLUSTER + node("n1") + deployment(windows))


PRIORITIES = ("---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: low}\nvalue: -10\n"
              "---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n")


def bare_pod(name, cpu, cls):
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  priorityClassName: {cls}\n"
            f"  containers: [{{name: c, image: x, resources: {{requests: {{cpu: {cpu}}}}}}}]\n")


def preemptions(comp, res):
    out = set()
    for s in res.search.graph.states:
        for rule in comp.system.rules:
            for lab, _ in rule.fn(s):
                if lab[1] == "preempt":
                    out.add(dict(lab[3])["victims"])
    return out


def test_preemption_takes_the_fewest_lower_priority_victims(monkeypatch):
    """A 2-cpu node runs vip (high, 500m), low-a and low-b (low, 500m each); web (priority 0, 1 cpu) fits only
    once one low pod goes.  SelectVictimsOnNode removes both low pods, then reprieves low-a (web still fits
    beside vip and low-a): low-b alone is preempted, never vip.  A scheduler that may preempt any pod is
    caught by preemption-justified."""
    text = (CLUSTER.replace("[deployment-converges, daemonset-converges, n-plus-one-capacity]",
                            "[deployment-converges, preemption-justified]")
            + PRIORITIES + node("n1") + bare_pod("vip", "500m", "high") + bare_pod("low-a", "500m", "low")
            + bare_pod("low-b", "500m", "low")
            + deployment("containers: [{name: c, image: x, resources: {requests: {cpu: '1'}}}]", replicas=1))
    sc = parse_scenario(text)
    assert {o.meta.name: o.spec.priority for o in sc.of_kind("Pod")} == {"vip": 1000, "low-a": -10, "low-b": -10}
    comp = compose(sc)
    res = check(comp.system)
    v = {x.prop: x.verdict for x in res.verdicts}
    assert v == {"deployment-converges": "holds", "preemption-justified": "holds"}
    assert preemptions(comp, res) == {"default/low-b"}
    from model.components import preemption
    monkeypatch.setattr(preemption, "victims_on", lambda node, pod, nodes, pods, fits: [
        p for p in pods if p.spec.node_name == node.meta.name and p.meta.uid != pod.meta.uid] or None)
    comp = compose(parse_scenario(text))
    bad = {x.prop: x for x in check(comp.system).verdicts}["preemption-justified"]
    assert bad.verdict == "violated" and "a victim must have a lower priority" in bad.diagnosis
    assert bad.trace.labels[-1][1] == "preempt"


def test_priority_admission():
    one = node("n1")
    web = deployment("containers: [{name: c, image: x}]\npriorityClassName: missing", replicas=1)
    with pytest.raises(ScenarioError, match="no PriorityClass with name missing was found"):
        parse_scenario(CLUSTER + one + web)
    default = ("---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: d}\nvalue: 7\n"
               "globalDefault: true\npreemptionPolicy: Never\n")
    sc = parse_scenario(CLUSTER + default + one + deployment("containers: [{name: c, image: x}]", replicas=1))
    spec = sc.of_kind("Deployment")[0].template.spec
    assert (spec.priority, spec.preempts) == (7, False)
    sc = parse_scenario(CLUSTER + one + deployment("containers: [{name: c, image: x}]\n"
                                                  "priorityClassName: system-cluster-critical", replicas=1))
    assert sc.of_kind("Deployment")[0].template.spec.priority == 2000000000


def test_a_property_whose_steps_never_happen_holds_vacuously_and_says_so():
    """STYLE point 5: with room for every pod nothing is preempted, so preemption-justified checked nothing;
    its holds says so, unlike where a preemption was explored."""
    roomy = (CLUSTER.replace("[deployment-converges, daemonset-converges, n-plus-one-capacity]",
                             "[preemption-justified]")
             + PRIORITIES + node("n1", cpu="8") + bare_pod("low-a", "500m", "low")
             + deployment("containers: [{name: c, image: x, resources: {requests: {cpu: '1'}}}]", replicas=1))
    _, v = run(roomy)
    assert v["preemption-justified"].verdict == "holds"
    assert "vacuously: no step it checks (default-scheduler.preempt) was reached" in v["preemption-justified"].diagnosis
    _, v = run(roomy.replace("cpu: '8'", "cpu: '1'"))
    assert v["preemption-justified"].verdict == "holds" and not v["preemption-justified"].diagnosis
