"""The quotient form of the reductions (model/canonical.py `quotient`): uids renumbered per owner, so that
creations by different controllers in either order are one state.  It must be exact: the states it
reaches are exactly the images of the states the canonical search reaches, and every built-in scenario
gives its pinned verdicts with it."""

import os

import pytest

from conftest import SCENARIOS
from explorer import check, search
from kubecheck.compose import compose
from model.canonical import canonical, quotient
from model.scenario import load_scenario, parse_scenario

from test_scenarios import BOUNDED, PINNED, pinned_verdicts

TWO_NODES = """---
apiVersion: v1
kind: Node
metadata: {name: w-1}
status: {allocatable: {cpu: '2', memory: 4Gi, pods: '110'}}
---
apiVersion: v1
kind: Node
metadata: {name: w-2}
status: {allocatable: {cpu: '2', memory: 4Gi, pods: '110'}}
"""

REALISTIC = """
apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: quotient-mix}
spec:
  faults: {budget: 1, kinds: [node-crash]}
  check: {properties: [node-capacity, pod-single-node, replicas-bounded, deployment-converges,
                       daemonset-converges, job-completes]}
""" + TWO_NODES + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", resources: {requests: {cpu: 250m}}}]
---
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


def _states(system, canon):
    res = search(system.__class__(**dict(vars(system), canonical=canon)), reduction="none", symmetry=False)
    assert res.stats.complete
    return res.graph.states


def test_the_quotient_search_reaches_exactly_the_images_of_the_canonical_search():
    """A Deployment and a DaemonSet on two nodes, one of which may crash: their pods are created in every
    order, which the canonical form keeps apart (uids in creation order) and the quotient does not.  Were
    the grouping to merge states that a rule tells apart (pods of one owner out of creation order), the
    quotient search would reach states that are no image, or miss some."""
    system = compose(parse_scenario(REALISTIC)).system
    assert system.quotient is not None
    full = _states(system, canonical)
    reduced = _states(system, quotient)
    assert {quotient(s) for s in full} == set(reduced)
    assert len(reduced) < len(full) / 2, (len(reduced), len(full))


def test_within_an_owner_creation_order_is_kept():
    """The pods of one ReplicaSet are ranked by creation (deletion order): the quotient keeps their uids in
    that order, so two states that differ only in which of two pods is older stay apart."""
    system = compose(parse_scenario(REALISTIC.replace("replicas: 1", "replicas: 2"))).system
    for s in _states(system, quotient):
        pods = [p for p in s.store.pods if p.meta.generate_name.startswith("web-")]
        uids = [p.meta.uid for p in pods]
        assert uids == sorted(uids) and len(set(uids)) == len(uids)


PLAIN = sorted(n for n in PINNED if n not in BOUNDED)


@pytest.mark.parametrize("name", PLAIN)
def test_the_default_reductions_give_the_pinned_verdicts(name):
    """Every built-in scenario, checked with the defaults (the quotient, observer elimination, partial-order
    reduction, symmetry), gives the verdicts pinned for it searched as composed (tests/test_scenarios.py),
    and never explores more states."""
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    res = check(compose(sc).system, max_depth=sc.max_depth, max_states=sc.max_states)
    assert res.stats.complete
    assert {v.prop: v.verdict for v in res.verdicts} == pinned_verdicts(name, sc)
    assert res.stats.distinct_states <= PINNED[name][0]


def test_where_uids_of_different_owners_are_compared_the_quotient_is_not_used():
    """Preemption orders its victims by creation whoever owns them, and an adopted orphan joins its owner's
    pods in creation order: there the grouping would not be exact, and the report says why it is not used."""
    for name, why in [("preemption-placeholder", "preemption"), ("rs-adopts-orphan", "adopted")]:
        comp = compose(load_scenario(os.path.join(SCENARIOS, f"{name}.yaml")))
        assert comp.system.quotient is None and why in comp.model.quotient_note
        assert not check(comp.system).stats.quotient


JOB = """
apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: quotient-job}
spec:
  faults: {budget: 1, kinds: [node-crash]}
  check: {properties: [job-completions-not-exceeded, job-completes, stable-reconciliation, pod-single-node]}
""" + TWO_NODES + """---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: default}
spec:
  completions: 1
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox, resources: {requests: {cpu: 100m}}}]
"""


def test_counted_job_pods_are_dropped_exactly():
    """A Job whose pods may fail (restartPolicy Never) on two nodes, one of which may crash: each finished,
    counted pod is dropped by the quotient (nothing reads it), and the states reached are still exactly the
    images of the canonical search's; the verdicts are the same.  With the legacy tracking, which counts
    those very pods, they are kept."""
    from model.canonical import quotient_with_job_tracking
    system = compose(parse_scenario(JOB)).system
    assert system.quotient is quotient_with_job_tracking
    full = _states(system, canonical)
    reduced = _states(system, quotient_with_job_tracking)
    assert {quotient_with_job_tracking(s) for s in full} == set(reduced)
    assert len(reduced) < len(full) / 2, (len(reduced), len(full))
    verdicts = lambda r: {v.prop: v.verdict for v in r.verdicts}
    assert verdicts(check(system)) == verdicts(check(system, reduction="none"))
    legacy = compose(parse_scenario(JOB.replace("spec:\n  faults", "spec:\n  behaviour: {jobTrackingWithFinalizers: false}\n  faults"))).system
    assert legacy.quotient is quotient
