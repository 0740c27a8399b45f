"""Cluster-tool presets (spec.preset, model/presets.py): each fills in the layout its tool documents, what the
scenario writes wins, an unknown name is refused, and the layout decides verdicts (issue 18, item 7)."""

import json
import os

import pytest

from model.presets import PRESETS
from model.scenario import CONTROL_PLANE_LABEL, ZONE_LABEL, ScenarioError, parse_scenario
from model.topology import apiserver_hosts, control_plane_nodes, etcd_members

from conftest import SCENARIOS
from test_cli import kc
from test_ha import decide

WORKERS = """---
apiVersion: v1
kind: Node
metadata: {name: w-1, labels: {topology.kubernetes.io/zone: a}}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: w-2, labels: {topology.kubernetes.io/zone: b}}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: w-3, labels: {topology.kubernetes.io/zone: c}}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", resources: {requests: {cpu: 500m}}}]
"""


def scenario(spec: str, workers: str = WORKERS):
    text = f"apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {{name: t}}\nspec:\n{spec}\n" + workers
    return parse_scenario(text, "t.yaml")


def zones_of(sc, names):
    return [dict(n.meta.labels).get(ZONE_LABEL, "") for n in sc.nodes if n.meta.name in names]


# preset -> (control-plane nodes and their zones, cpu, memory, cloud, kube-proxy, plugin replaces kube-proxy)
DOCUMENTED = {
    "kubeadm": (["a"], "2", 2 * 2 ** 30, False, True, False),
    "kubeadm-ha": (["a", "b", "c"], "2", 2 * 2 ** 30, False, True, False),
    "kops-aws": (["a", "b", "c"], "2", 4 * 2 ** 30, True, False, True),
    "kops-aws-single": (["a"], "2", 4 * 2 ** 30, True, False, True),
    "kubespray-default": (["a", "b", "c"], "2", 2 * 2 ** 30, False, True, False),
}


def test_every_preset_is_documented_here():
    assert sorted(PRESETS) == sorted(DOCUMENTED)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_preset_gives_its_tools_documented_layout(name):
    zones, cpu, memory, cloud, proxy, replaces = DOCUMENTED[name]
    sc = scenario(f"  preset: {name}\n  faults: {{budget: 1, kinds: [zone-outage]}}")
    n = len(zones)
    cps = control_plane_nodes(sc)
    assert cps == [f"control-plane-{i + 1}" for i in range(n)]
    assert zones_of(sc, cps) == zones
    for node in sc.nodes:
        if node.meta.name in cps:
            assert [(t.key, t.effect) for t in node.taints] == [(CONTROL_PLANE_LABEL, "NoSchedule")]
            assert (node.allocatable.cpu, node.allocatable.memory) == (int(cpu) * 1000, memory)
    cp = sc.control_plane
    # A stacked etcd member and a static-pod apiserver, controller-manager and scheduler on each node.
    assert (cp.placement, cp.etcd_topology) == ("static-pods", "stacked")
    assert (cp.apiservers, cp.controller_managers, cp.schedulers) == (n, n, n)
    assert [m.node for m in etcd_members(sc)] == cps and apiserver_hosts(sc) == cps
    assert (cp.leader_election.lease_duration, cp.leader_election.renew_deadline,
            cp.leader_election.retry_period) == (15, 10, 2)
    assert cp.cloud_controller_manager is cloud
    assert (sc.dns, sc.dns_replicas, sc.kube_proxy, sc.network_plugin_replaces_kube_proxy) == (True, 2, proxy, replaces)
    assert sc.preset == name
    note = sc.notes[0]
    assert note.startswith(f"preset {name}: {n} control-plane node") and "made by the preset" in note
    assert f"kube-apiserver x{n}" in note and "model/presets.py" in note


def test_without_a_preset_nothing_is_made():
    sc = scenario("  faults: {budget: 1, kinds: [zone-outage]}")
    assert control_plane_nodes(sc) == [] and sc.preset == "" and not any(n.startswith("preset") for n in sc.notes)
    assert (sc.control_plane.placement, sc.control_plane.apiservers, sc.control_plane.cloud_controller_manager) == \
        ("traditional", 1, False)


def test_kops_goes_round_the_zones_and_the_others_too():
    two = "---\n".join(d for d in WORKERS.split("---\n") if "name: w-3" not in d)
    sc = scenario("  preset: kops-aws", two)
    # docs/operations/high_availability.md, Example 3: three control-plane nodes in two zones, round-robin.
    assert zones_of(sc, control_plane_nodes(sc)) == ["a", "b", "a"]
    single = scenario("  preset: kops-aws-single", two)
    assert zones_of(single, control_plane_nodes(single)) == ["a"]
    zoneless = WORKERS.replace(", labels: {topology.kubernetes.io/zone: a}", "").replace(
        ", labels: {topology.kubernetes.io/zone: b}", "").replace(", labels: {topology.kubernetes.io/zone: c}", "")
    sc = scenario("  preset: kubeadm-ha", zoneless)
    assert zones_of(sc, control_plane_nodes(sc)) == ["", "", ""] and "in no zone" in sc.notes[0]


def test_what_the_scenario_writes_wins_field_by_field():
    sc = scenario("""  preset: kops-aws
  controlPlane:
    apiservers: 2
    cloudControllerManager: false
    etcd: {topology: external, members: 3, zones: [a, b, c]}
    leaderElection: {leaseDuration: 20}
  addons: {kubeProxy: true, dns: {replicas: 1}, networkPlugin: {replacesKubeProxy: false}}""")
    cp = sc.control_plane
    assert cp.apiservers == 2 and cp.controller_managers == 3 and cp.schedulers == 3   # the others: the preset's
    assert cp.cloud_controller_manager is False and cp.placement == "static-pods"
    assert (cp.etcd_topology, cp.etcd_members, cp.etcd_zones) == ("external", 3, ("a", "b", "c"))
    assert (cp.leader_election.lease_duration, cp.leader_election.renew_deadline) == (20, 10)
    assert (sc.kube_proxy, sc.dns_replicas, sc.network_plugin_replaces_kube_proxy) == (True, 1, False)
    note = sc.notes[0]
    assert "external etcd of 3 members" in note and "kube-apiserver x2" in note
    assert note.endswith("the scenario's own spec.controlPlane.apiservers, spec.controlPlane.cloudControllerManager, "
                         "spec.controlPlane.etcd.topology, spec.controlPlane.leaderElection.leaseDuration, "
                         "spec.addons.dns, spec.addons.kubeProxy, spec.addons.networkPlugin.replacesKubeProxy win "
                         "over the preset")
    off = scenario("  preset: kubeadm\n  addons: {dns: false}")
    assert off.dns is False and "no DNS addon" in off.notes[0]


def test_the_scenarios_own_control_plane_nodes_are_used_one_instance_each():
    own = "".join(f"""---
apiVersion: v1
kind: Node
metadata: {{name: master-{i}, labels: {{topology.kubernetes.io/zone: a, node-role.kubernetes.io/control-plane: ""}}}}
status: {{allocatable: {{cpu: "4", memory: 8Gi, pods: "110"}}}}
""" for i in (1, 2))
    sc = scenario("  preset: kubeadm-ha", WORKERS + own)
    assert control_plane_nodes(sc) == ["master-1", "master-2"]
    assert not any(n.meta.name.startswith("control-plane-") for n in sc.nodes)
    cp = sc.control_plane
    assert (cp.apiservers, cp.controller_managers, cp.schedulers) == (2, 2, 2)
    assert sc.notes[0].startswith("preset kubeadm-ha: the scenario's 2 control-plane nodes master-1, master-2")


def test_a_managed_placement_written_by_the_scenario_makes_no_machines():
    sc = scenario("  preset: kubeadm-ha\n  controlPlane: {placement: managed}")
    assert control_plane_nodes(sc) == [] and sc.control_plane.apiservers == 3
    assert "a managed control plane" in sc.notes[0]


@pytest.mark.parametrize("value, message", [
    ("kubeadm-hq", "spec.preset: unknown preset 'kubeadm-hq'; known: kubeadm, kubeadm-ha, kops-aws, "
                   "kops-aws-single, kubespray-default"),
    ("[kubeadm]", "spec.preset: expected a string, got"),
    ("7", "spec.preset: expected a string, got 7"),
])
def test_an_unknown_preset_is_refused_naming_the_known_ones(tmp_path, value, message):
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n"
                    f"  faults: {{budget: 0}}\n  preset: {value}\n" + WORKERS)
    with pytest.raises(ScenarioError) as e:
        parse_scenario(path.read_text(), str(path))
    assert message in str(e.value) and f"{path}:6:" in str(e.value)
    p = kc("verify", "--traces", str(tmp_path), str(path))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr and f"{path}:6:" in p.stderr


def test_a_worker_named_as_the_presets_machines_is_an_error_not_a_second_node():
    clash = WORKERS.replace("name: w-1,", "name: control-plane-1,")
    with pytest.raises(ScenarioError, match="makes its control-plane Nodes control-plane-1, control-plane-2, "
                                            "control-plane-3, but the scenario has a Node control-plane-1"):
        scenario("  preset: kubeadm-ha", clash)


def test_the_quorum_claim_depends_on_the_preset():
    """One zone outage: kubeadm's one etcd member goes with zone a; kubeadm-ha's three, one per zone, keep two."""
    faults = "\n  faults: {budget: 1, kinds: [zone-outage]}"
    single = decide(scenario("  preset: kubeadm" + faults), "etcd-quorum-survives")
    ha = decide(scenario("  preset: kubeadm-ha" + faults), "etcd-quorum-survives")
    assert single[0] == "violated" and "etcd-1 on control-plane-1" in single[1]
    assert ha[0] == "holds" and ha[1].startswith("3 etcd members (zone a holds 1 of 3, zone b holds 1 of 3, zone c "
                                                 "holds 1 of 3), quorum 2")


def test_review_of_two_tools_layouts_names_what_differs(tmp_path):
    """The explored verdicts under a zone outage: kubeadm's single control plane against kubeadm-ha's."""
    p = kc("review", "--traces", str(tmp_path), "--json", "-", os.path.join(SCENARIOS, "preset-kubeadm.yaml"),
           os.path.join(SCENARIOS, "preset-kubeadm-ha.yaml"))
    assert p.returncode == 1, p.stderr
    data = json.loads(p.stdout)
    rows = {r["property"]: (r["a"], r["b"]) for r in data["properties"]}
    for prop in ("control-plane-available", "etcd-quorum-survives", "deployment-converges",
                 "pods-rescheduled-after-node-failure"):
        assert rows[prop] == ("violated", "holds"), prop
    cause = next(r["cause"] for r in data["properties"] if r["property"] == "control-plane-available")
    assert cause == "A: all 1 kube-apiserver instance(s) are down: no request can be served"


def test_the_report_prints_the_presets_note(tmp_path):
    p = kc("verify", "--traces", str(tmp_path), os.path.join(SCENARIOS, "preset-kubeadm.yaml"))
    assert p.returncode == 0, p.stderr     # its violations are expected
    assert "  note: preset kubeadm: 1 control-plane node control-plane-1 (made by the preset" in p.stdout


# -- fuzzing: a preset beside any value of the fields it fills in loads, or is refused with a ScenarioError ------

from hypothesis import given, settings, strategies as st  # noqa: E402

WILD = st.one_of(st.text(max_size=6), st.integers(-3, 120), st.floats(allow_nan=True), st.none(), st.booleans(),
                 st.lists(st.integers(0, 3), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
ZONES = st.lists(st.sampled_from(["a", "b", "c"]), max_size=4)
CP_FIELDS = {
    "placement": st.sampled_from(["traditional", "static-pods", "self-hosted", "managed"]),
    "etcd": st.fixed_dictionaries({}, optional={"topology": st.sampled_from(["stacked", "external"]),
                                                "members": st.integers(1, 6), "zones": ZONES}),
    "apiservers": st.integers(1, 5), "controllerManagers": st.integers(1, 4), "schedulers": st.integers(1, 4),
    "cloudControllerManager": st.booleans(), "staticApiservers": st.integers(0, 1),
    "leaderElection": st.fixed_dictionaries({}, optional={k: st.integers(1, 30) for k in
                                                          ("leaseDuration", "renewDeadline", "retryPeriod")}),
}
ADDON_FIELDS = {
    "dns": st.one_of(st.booleans(), st.fixed_dictionaries({}, optional={"replicas": st.integers(1, 3)})),
    "kubeProxy": st.booleans(),
    "networkPlugin": st.fixed_dictionaries({}, optional={"replacesKubeProxy": st.booleans()}),
    "dashboard": st.booleans(), "monitoring": st.booleans(), "logging": st.booleans(),
}


def fields(spec):
    """A mapping of some of `spec`'s keys, each a plausible value or now and then any value at all."""
    return st.fixed_dictionaries({}, optional={k: mostly(v) for k, v in spec.items()})


def mostly(plausible):
    """`plausible` nine times in ten, else any value (one_of would draw the wild values far more often)."""
    return st.integers(0, 9).flatmap(lambda i: WILD if i == 7 else plausible)   # hypothesis favours 0


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(preset=mostly(st.sampled_from(sorted(PRESETS))),
       cp=fields(CP_FIELDS), addons=fields(ADDON_FIELDS),
       extra=st.lists(st.tuples(st.sampled_from(["x-1", "control-plane-1", "control-plane-3"]),
                                st.sampled_from(["a", "b", ""]), st.booleans()), max_size=3, unique_by=lambda w: w[0]))
def test_fuzzed_presets_load_or_are_refused(preset, cp, addons, extra):
    import yaml
    from kubecheck.compose import compose
    spec = {"preset": preset, "faults": {"budget": 1, "kinds": ["zone-outage"]}}
    if cp:
        spec["controlPlane"] = cp
    if addons:
        spec["addons"] = addons
    docs = [{"apiVersion": "kubecheck/v1alpha1", "kind": "Cluster", "metadata": {"name": "t"}, "spec": spec}]
    for name, zone, control in extra:
        labels = {**({ZONE_LABEL: zone} if zone else {}), **({CONTROL_PLANE_LABEL: ""} if control else {})}
        docs.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
                     "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}})
    text = yaml.safe_dump_all(docs) + WORKERS
    try:
        sc = parse_scenario(text, "t.yaml")
    except ScenarioError as e:
        assert "\n" not in str(e) and str(e).startswith("t.yaml")
        OUTCOMES["refused"] += 1
        return
    OUTCOMES["with a preset" if sc.preset else "without"] += 1
    if sc.preset:
        assert sc.notes[0].startswith(f"preset {sc.preset}: ")
        assert control_plane_nodes(sc) or sc.control_plane.placement == "managed"
    compose(sc)


OUTCOMES = {"refused": 0, "with a preset": 0, "without": 0}


def test_the_fuzzer_reaches_loaded_presets_and_refusals():
    """The fuzzing above is not all refusals: most of its inputs load with a preset (run after it, in file order)."""
    if not any(OUTCOMES.values()):
        test_fuzzed_presets_load_or_are_refused()
    assert OUTCOMES["with a preset"] >= 100 and OUTCOMES["refused"] >= 30, OUTCOMES
