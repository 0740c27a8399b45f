"""StatefulSet volumes: claims made before the pod, the attach/detach controller, volume-single-attach."""

from __future__ import annotations

import os

from conftest import SCENARIOS
from explorer import check, render_label
from kubecheck.compose import compose as _compose
from model.scenario import load_scenario
from test_scenarios import _steps, run


def _verdicts(comp):
    return {v.prop: v for v in check(comp.system, reduction="none", symmetry=False).verdicts}


def _stuck(comp, s) -> bool:
    return not any(True for r in comp.system.rules if r.fair for _ in r.fn(s))


def test_claim_is_created_with_the_pod_and_named_by_template_set_and_ordinal():
    sc, comp, res = run("statefulset-volume-out-of-service")
    for s in res.search.graph.states:
        pod = s.store.get("Pod", "default", "web-0")
        if pod is not None:
            assert pod.spec.claims == ("data-web-0",)
            assert s.store.get("PersistentVolumeClaim", "default", "data-web-0") is not None
    # a pod runs only where its volume is attached; a ReadWriteOnce volume is attached to one node at most
    for s in res.search.graph.states:
        assert len(s.attachments) <= 1
        for h in s.hosts:
            for rp in h.pods:
                assert rp.volumes == ("default/data-web-0",)
                assert ("default/data-web-0", h.name) in s.attachments or not h.up or not h.reachable


def test_node_crash_without_taint_leaves_the_new_pod_waiting_for_its_volume():
    """statefulset-volume-node-crash: a stuck state where the re-created web-0 is bound, not deleting, not
    running, and the volume is attached to the dead n2; with the default forced detach on timeout it converges."""
    sc, comp, res = run("statefulset-volume-node-crash")
    waiting = [s for s in res.search.graph.states if _stuck(comp, s)
               and (p := s.store.get("Pod", "default", "web-0")) is not None and p.spec.node_name
               and not p.meta.deleting and p.phase == "Pending"
               and s.attachments == (("default/data-web-0", "n2"),) and not s.host("n2").up]
    assert waiting
    text = open(os.path.join(SCENARIOS, "statefulset-volume-node-crash.yaml")).read()
    from model.scenario import parse_scenario
    default = parse_scenario(text.replace("forceDetachOnTimeout: false", "forceDetachOnTimeout: true"), sc.path)
    comp2 = _compose(default)
    v = _verdicts(comp2)
    # still violated where the force deletion came before the outage (the evicted pod stays Terminating),
    # but no stuck state waits for the volume any more: the timeout frees it
    res2 = check(comp2.system, reduction="none", symmetry=False)
    for s in res2.search.graph.states:
        p = s.store.get("Pod", "default", "web-0")
        if _stuck(comp2, s) and p is not None and p.spec.node_name and not p.meta.deleting:
            assert p.phase == "Running"
    assert v["volume-single-attach"].verdict == "holds"


def test_out_of_service_detaches_at_once_and_the_pod_starts_on_n1():
    sc, comp, res = run("statefulset-volume-out-of-service")
    g = res.search.graph
    detached = [lab for s in g.states for lab, _ in _steps(comp, s, "attachdetach.detach")
                if dict(lab[3]).get("why") == "out-of-service"]
    assert detached
    final = [s for s in g.states if _stuck(comp, s)]
    assert final
    for s in final:
        p = s.store.get("Pod", "default", "web-0")
        assert p.phase == "Running" and s.attachments == (("default/data-web-0", p.spec.node_name),)


def test_partition_counterexample_shows_the_volume_mounted_on_both_nodes():
    sc, comp, res = run("statefulset-volume-out-of-service-partition")
    v = {x.prop: x for x in res.verdicts}["volume-single-attach"]
    assert v.verdict == "violated"
    labels = [render_label(lab) for lab in v.trace.labels[1:]]
    cut = next(i for i, lab in enumerate(labels) if lab.startswith("environment.partition(node=n2"))
    detach = next(i for i, lab in enumerate(labels) if lab.startswith("attachdetach.detach(")
                  and "node=n2" in lab)
    attach = next(i for i, lab in enumerate(labels) if lab.startswith("attachdetach.attach(") and "node=n1" in lab
                  and i > detach)
    assert cut < detach < attach
    assert "why=out-of-service" in labels[detach]
    last = v.trace.states[-1]
    assert {h.name for h in last.hosts for rp in h.pods if "default/data-web-0" in rp.volumes} == {"n1", "n2"}


def test_property_fails_on_a_model_whose_detach_ignores_the_unreachable_node():
    """A partition and a force deletion, the forced detach on timeout disabled: the volume stays attached to the
    cut-off n2 (holds); a controller that takes a node that cannot report as having unmounted its volumes
    detaches it and attaches it on n1 (violated)."""
    from model.components import attachdetach
    text = open(os.path.join(SCENARIOS, "statefulset-volume-node-crash.yaml")).read()
    text = text.replace("kinds: [zone-outage]", "kinds: [partition]").replace(
        "metadata: {name: statefulset-volume-node-crash}", "metadata: {name: volume-partition-force-delete}")
    text = "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith(("statefulset-converges:", "stable-reconciliation:",
                                                      "volume-single-attach:")))
    text = text.replace("  expect:\n", "")
    from model.scenario import parse_scenario
    sc = parse_scenario(text, os.path.join(SCENARIOS, "x.yaml"))
    comp = _compose(sc)
    assert _verdicts(comp)["volume-single-attach"].verdict == "holds"
    broken = attachdetach.rules(force_on_timeout=False, honour_unhealthy=False)
    comp.system.rules[:] = [r for r in comp.system.rules if not r.name.startswith("attachdetach.")] + broken
    assert _verdicts(comp)["volume-single-attach"].verdict == "violated"


def test_pvc_manifest_loads_without_a_warning(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(open(os.path.join(SCENARIOS, "statefulset-volume-out-of-service.yaml")).read() + """---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: extra, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
""")
    sc = load_scenario(str(f))
    assert not [w for w in sc.warnings if "PersistentVolumeClaim" in w or "volumeClaimTemplates" in w]
    assert any(o.kind == "PersistentVolumeClaim" for o in sc.objects)
