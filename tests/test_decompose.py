"""Workloads checked apart (model/decompose.py, kubecheck/decomposed.py): independent groups of workloads
are searched one at a time, and the verdicts joined must be those of the whole cluster's search."""

import json
import os
import sys

import pytest

from conftest import SCENARIOS
from explorer import check
from kubecheck.cli import main
from kubecheck.compose import compose
from kubecheck.decomposed import check_apart
from kubecheck.traces import replay, to_itf
from model.decompose import workload_groups
from model.scenario import ScenarioError, load_scenario, parse_scenario

from test_scenarios import BOUNDED, PINNED, pinned_verdicts

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from realistic import cluster  # noqa: E402

HEADER = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {{name: {name}}}
spec:
  faults: {{budget: 1, kinds: [node-crash]}}
  check: {{properties: [all]{check}}}
"""

NODES = """---
apiVersion: v1
kind: Node
metadata: {{name: w-1, labels: {{topology.kubernetes.io/zone: z1}}}}
status: {{allocatable: {{cpu: '{cpu}', memory: 2Gi, pods: '110'}}}}
---
apiVersion: v1
kind: Node
metadata: {{name: w-2, labels: {{topology.kubernetes.io/zone: z2}}}}
status: {{allocatable: {{cpu: '{cpu}', memory: 2Gi, pods: '110'}}}}
"""


def web(tolerate_forever=False, extra=""):
    tol = ("      tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}]\n"
           if tolerate_forever else "")
    return """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
""" + tol + extra + """      containers: [{name: web, image: "nginx:1.27", resources: {requests: {cpu: 250m}}}]
"""


AGENT = """---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "fluent-bit:3", resources: {requests: {cpu: 50m}}}]
"""

JOB = """---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: default}
spec:
  completions: 1
  backoffLimit: 1
  template:
    metadata: {labels: {app: once}, annotations: {kubecheck.io/exit-codes: "0"}}
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox, resources: {requests: {cpu: 100m}}}]
"""


def service(selector="web"):
    return f"""---
apiVersion: v1
kind: Service
metadata: {{name: {selector}, namespace: default}}
spec:
  selector: {{app: {selector}}}
  ports: [{{port: 80}}]
"""


def scenario(name, *docs, cpu="1", check=""):
    return parse_scenario(HEADER.format(name=name, check=check) + NODES.format(cpu=cpu) + "".join(docs))


def groups_of(sc):
    groups, why = workload_groups(sc)
    return sorted(sorted(f"{k} {n}" for k, _, n in g.keys) for g in groups), why


def quiet(name):
    return None, lambda: None


def apart(sc, **opts):
    comp = compose(sc)
    return comp, check_apart(sc, comp, compose, timeout=None, progress_for=quiet,
                             max_depth=sc.max_depth, max_states=sc.max_states, **opts)


def verdicts(res):
    return {v.prop: v.verdict for v in res.verdicts}


def test_the_realistic_cluster_splits_into_its_three_workloads():
    """The Deployment goes with its Service, and the DNS addon (dns-converges reads each Service and whether a
    DNS pod serves) with every group that has a Service; the DaemonSet and the Job are on their own."""
    groups, why = groups_of(parse_scenario(cluster(2, 2)))
    assert why is None
    assert groups == [["DaemonSet agent"], ["Deployment web", "Service web"], ["Job once"]]
    served = [g for g in workload_groups(parse_scenario(cluster(2, 2)))[0] if g.shared]
    assert [sorted(g.shared) for g in served] == [[("Deployment", "kube-system", "coredns"), ("Service", "kube-system", "kube-dns")]]


def test_what_selects_another_workloads_pods_joins_its_group():
    """A Service selecting the Job's pods, a pod anti-affinity or topology spread term matching another
    workload's pods, host ports on both: each joins the two groups, as each lets one read the other."""
    assert groups_of(scenario("s", web(), AGENT, JOB))[0] == [["DaemonSet agent"], ["Deployment web"], ["Job once"]]
    assert groups_of(scenario("s", web(), AGENT, JOB, service("once")))[0] == [
        ["DaemonSet agent"], ["Deployment web"], ["Job once", "Service once"]]
    anti = ("      affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
            "[{labelSelector: {matchLabels: {app: agent}}, topologyKey: kubernetes.io/hostname}]}}\n")
    assert groups_of(scenario("s", web(extra=anti), AGENT, JOB))[0] == [["DaemonSet agent", "Deployment web"],
                                                                        ["Job once"]]
    spread = ("      topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, "
              "whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: once}}}]\n")
    assert groups_of(scenario("s", web(extra=spread), AGENT, JOB))[0] == [["DaemonSet agent"],
                                                                          ["Deployment web", "Job once"]]
    ported = AGENT.replace('resources: {requests: {cpu: 50m}}', 'ports: [{containerPort: 9, hostPort: 9}], '
                                                               'resources: {requests: {cpu: 50m}}')
    ported_web = web().replace('resources: {requests: {cpu: 250m}}', 'ports: [{containerPort: 8, hostPort: 8}], '
                                                                     'resources: {requests: {cpu: 250m}}')
    assert groups_of(scenario("s", ported_web, ported, JOB))[0] == [["DaemonSet agent", "Deployment web"],
                                                                    ["Job once"]]


def test_what_couples_every_workload_keeps_them_together():
    """Lagging caches count writes of every workload; pods of different priorities can preempt each other."""
    groups, why = groups_of(scenario("s", web(), AGENT, check=", maxStaleness: 1"))
    assert groups == [] and "maxStaleness" in why
    prio = """---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
"""
    groups, why = groups_of(scenario("s", prio, web(extra="      priorityClassName: high\n"), AGENT))
    assert groups == [] and "preemption" in why


SCALE = """  changes:
  - scale: {kind: Deployment, namespace: default, name: web, replicas: 2}
"""

CASES = {
    "deployment-daemonset-job": (lambda: (web(), AGENT, JOB), ""),
    "tolerating-for-ever": (lambda: (web(tolerate_forever=True), AGENT, JOB), ""),
    "service-beside-job": (lambda: (web(), service("web"), JOB), ""),
    "scale-beside-daemonset": (lambda: (web(), AGENT), SCALE),
    # Two Services of two Deployments: the DNS addon is in both groups (dns-converges reads each Service).
    "two-services": (lambda: (web(), service("web"), web().replace("web", "api").replace("250m", "200m"),
                              service("api")), ""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_apart_gives_the_verdicts_of_the_whole_cluster(case):
    """Workloads on two nodes, one of which may crash: searched as one cluster (700-4,700 states) and apart
    (a few hundred at most), every verdict is the same: with a Service (and so the DNS addon, kube-proxy and
    the EndpointSlice controller), with two (the DNS addon in both groups), with a user's change to one group.  With pods that tolerate an unreachable
    node for ever, the Deployment's convergence is violated (its pod stays on the dead node), and the joined
    verdict carries the trace of its group, which replays on that group alone."""
    docs, changes = CASES[case]
    text = HEADER.format(name=case, check="") + NODES.format(cpu="1") + "".join(docs())
    sc = parse_scenario(text.replace("  check:", changes + "  check:") if changes else text)
    comp, out = apart(sc)
    assert out.result is not None, out.note
    whole = check(comp.system)
    assert whole.stats.complete and out.result.stats.complete
    assert verdicts(out.result) == verdicts(whole)
    assert out.result.stats.distinct_states * 3 < whole.stats.distinct_states
    assert ("violated" in verdicts(whole).values()) == (case == "tolerating-for-ever")
    assert "independent groups" in out.note
    for v in out.result.verdicts:
        if v.verdict == "violated":
            assert v.trace.checked_alone == (("Deployment", "default", "web"),)
            assert "checked alone" in v.diagnosis
            doc = json.loads(json.dumps(to_itf(v.trace, scenario_name=sc.name, scenario_path="", scenario_text=sc.text,
                                               prop=v.prop, verdict=v.verdict, diagnosis=v.diagnosis)))
            # Text, as the Rust itf crate reads the #meta fields it does not know; the list of [kind, namespace,
            # name] of the traces written before ADR-015 is still read.
            assert doc["#meta"]["checked_alone"] == "Deployment default/web"
            assert replay(doc).ok
            doc["#meta"]["checked_alone"] = [["Deployment", "default", "web"]]
            assert replay(doc).ok
            del doc["#meta"]["checked_alone"]
            assert not replay(doc).ok   # the whole cluster's initial state holds the other workloads too


def test_where_capacity_could_decide_a_fit_the_whole_is_searched():
    """Nodes of 300m: the Deployment's 250m pod and the Job's 100m pod do not fit on one together, so where
    one group's pod is decides where the other's fits: the groups' largest uses of a node sum beyond it and
    they are checked together.  At 350m both fit anywhere, and they are checked apart."""
    _, out = apart(scenario("roomy", web(), JOB, cpu="350m"))
    assert out.result is not None and "at most 350m of 350m cpu on w-" in out.note
    sc = scenario("tight", web(), JOB, cpu="300m")
    _, out = apart(sc)
    assert out.result is None
    assert out.note.startswith("checked together: their pods could together use more cpu of node w-")


@pytest.mark.parametrize("name", sorted(n for n in PINNED if n not in BOUNDED
                                        and workload_groups(load_scenario(os.path.join(SCENARIOS, f"{n}.yaml")))[0]))
def test_built_in_scenarios_checked_apart_give_their_pinned_verdicts(name):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp, out = apart(sc)
    res = out.result if out.result is not None else check(comp.system, max_depth=sc.max_depth, max_states=sc.max_states)
    assert verdicts(res) == pinned_verdicts(name, sc)


def test_the_report_says_how_the_workloads_were_checked(tmp_path, capsys):
    path = tmp_path / "apart.yaml"
    path.write_text(scenario("apart", web(), AGENT, JOB).text)
    out_json = tmp_path / "out.json"
    assert main(["verify", str(path), "--traces", str(tmp_path / "t"), "--quiet", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "workloads: checked apart in 3 independent groups (Deployment default/web: " in text
    assert "node capacity never decides a fit" in text
    data = json.loads(out_json.read_text())
    assert data["stats"]["workloads_note"].startswith("checked apart")
    assert main(["verify", str(path), "--traces", str(tmp_path / "t"), "--quiet", "--reduction", "none",
                 "--max-states", "100"]) == 3
    assert "workloads:" not in capsys.readouterr().out


def test_a_states_bound_is_shared_among_the_groups():
    """maxStates bounds the states of the whole check: the groups share it, so a bounded run explores no more
    than a search of the whole would."""
    sc = parse_scenario(cluster(2, 2).replace("check: {properties: [all]}", "check: {properties: [all], maxStates: 300}"))
    _, out = apart(sc)
    assert out.result is not None
    assert not out.result.stats.complete
    assert out.result.stats.distinct_states <= 300 + 3
    assert "unknown" in verdicts(out.result).values()


def test_what_the_grouping_cannot_see_keeps_the_workloads_together():
    """Found in review, each a verdict that differed: a change scaling the DNS addon (every group with a
    Service shares it), a change deleting a pod by its generated name (no group holds it), and a ReplicaSet
    manifest named as the Deployment's own ReplicaSet will be (`web-<hash>`: the creation fails)."""
    scale_dns = web() + service("web") + JOB + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: coredns, resources: {requests: {cpu: 100m}}}]
"""
    text = HEADER.format(name="s", check="") + NODES.format(cpu="1") + scale_dns
    changes = "  changes:\n  - scale: {kind: Deployment, namespace: kube-system, name: coredns, replicas: 0}\n"
    groups, why = groups_of(parse_scenario(text.replace("  check:", changes + "  check:")))
    assert groups == [] and "DNS addon" in why
    text = HEADER.format(name="s", check="") + NODES.format(cpu="1") + web() + JOB
    # A pod by the name the model generates for it: refused as input (no change can know a generated name;
    # the search would compare states whose names derive from uids the canonical form renumbers).
    changes = "  changes:\n  - delete: {kind: Pod, namespace: default, name: web-f765cc7cd-6}\n"
    with pytest.raises(ScenarioError, match="generated names that a change cannot know in advance "
                                            r"\(Deployment web's are web-<generated>\)"):
        parse_scenario(text.replace("  check:", changes + "  check:"))
    clash = """---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-f765cc7cd, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: other, image: busybox, resources: {requests: {cpu: 100m}}}]
"""
    assert groups_of(scenario("s", web(), clash, JOB))[0] == [["Deployment web", "ReplicaSet web-f765cc7cd"],
                                                              ["Job once"]]


STATEFUL = """---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:17", resources: {requests: {cpu: 250m}}}]
"""


def test_a_statefulset_is_a_group_of_its_own_checked_apart_with_the_verdicts_of_the_whole():
    """A StatefulSet is a workload root (the registry: it makes pods); a Service that selects its pods joins
    its group.  Beside a Job, checked apart, the verdicts are the whole cluster's, the crash's stuck pod
    included (statefulset-converges violated, its trace checked alone)."""
    assert groups_of(scenario("s", STATEFUL, web(), JOB))[0] == [["Deployment web"], ["Job once"], ["StatefulSet db"]]
    assert groups_of(scenario("s", STATEFUL, service("db"), JOB))[0] == [["Job once"], ["Service db", "StatefulSet db"]]
    sc = scenario("sts-beside-job", STATEFUL, JOB)
    comp, out = apart(sc)
    assert out.result is not None, out.note
    whole = check(comp.system)
    assert verdicts(out.result) == verdicts(whole) and verdicts(whole)["statefulset-converges"] == "violated"
    v = next(v for v in out.result.verdicts if v.prop == "statefulset-converges")
    assert v.trace.checked_alone == (("StatefulSet", "default", "db"),)
