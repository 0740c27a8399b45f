"""The cluster as installed: the addons are up before the scenario's manifests are applied.

A real cluster runs its addons before any user applies a manifest (kubeadm
init installs CoreDNS and kube-proxy; they come up as soon as the nodes
do).  So the initial state of a scenario with an addon is built in two
phases: first the addon's objects alone (with the Nodes and Namespaces) are
settled by the model's own rules — one controller-manager and scheduler,
current views, no faults, the first enabled step each time, until none is
enabled (their pods scheduled, running with IPs, their EndpointSlices
written, kube-proxy's rules and the DNS records programmed); then the
scenario's own manifests are stored, with nothing scheduled or running
(DESIGN section 3, "Initial state").  An addon that cannot be scheduled stays
Pending, which the checks then see.

Why: the addon's start-up interleaved with the workload's multiplies the
state space by the addon's own (about 1,600 times for CoreDNS beside a
two-replica Deployment), and says nothing about the user's cluster that its
settled state does not.
"""

from __future__ import annotations

import dataclasses

from .state import ClusterState

SETTLE_LIMIT = 1000


def addon_phase(sc):
    """The scenario with only what exists before the user's manifests: Nodes, the addons and their Namespaces."""
    keys = set(sc.addon_keys)
    spaces = {ns for _, ns, _ in keys}
    objects = tuple(o for o in sc.objects
                    if (o.kind == "Namespace" and o.meta.name in spaces) or (o.kind, o.meta.namespace, o.meta.name) in keys)
    cp = dataclasses.replace(sc.control_plane, apiservers=1, controller_managers=1, schedulers=1)
    return dataclasses.replace(sc, objects=objects, changes=(), fault_budget=0, fault_kinds=(), control_plane=cp,
                               max_staleness=0, addon_keys=())


def settle(sc, build_model) -> ClusterState:
    """The addons' phase run to quiescence: from its initial state, the first enabled fair step of the
    first rule that has one, again and again (deterministic), until none is enabled.  `build_model` is
    model/compose.py's, passed in (compose calls this module, not the other way round)."""
    model = build_model(addon_phase(sc))
    s = model.init
    rules = [r for r in model.rules if r.fair]
    for _ in range(SETTLE_LIMIT):
        for rule in rules:
            step = next(iter(rule.fn(s)), None)
            if step is not None:
                s = model.presentation(step[1])
                break
        else:
            return s
    return s   # an addon that never settles (a replacement loop) is left as it is after the limit
