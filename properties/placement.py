"""The placement oracle (Z3): does any placement of these pods on these nodes satisfy the scheduler's filters?

Used by `n-plus-one-capacity` (after each failure) and by the diagnosis of
`deployment-converges`, to tell a limitation of the scheduler's greedy,
one-pod-at-a-time order from a real shortfall of capacity.  Pods of one
template are encoded as an integer count per node, not one variable per pod,
so that hundreds of nodes and pods decide in seconds.
"""

from __future__ import annotations

import z3


def _domains(nodes, key: str) -> dict:
    """Topology domain (the value of label `key`) -> the names of its nodes; nodes without the label are in none."""
    domains = {}
    for n in nodes:
        value = dict(n.meta.labels).get(key)
        if value is not None:
            domains.setdefault(value, []).append(n.meta.name)
    return domains


def placement_exists(nodes, templates, down=()):
    """Z3: integer counts x[t][n] of each template's pods per node, under every constraint of the scheduler's
    filters (resources, cordoned nodes, taints, nodeSelector, required node affinity, required pod affinity and
    anti-affinity by topologyKey, host ports, topology spread); True when a placement exists.  A template is
    (name, pod spec, count[, labels]).  Nodes named in `down` take no pods but still count as topology
    spread domains, as a Node object whose machine is down does for kube-scheduler.

    Topology spread is encoded on the final placement: in the domains a template's constraint considers,
    the matching pods differ by at most maxSkew (min and max within maxSkew of one variable m).  When the
    pods match their own selector this is exactly what a sequence of binds can reach: bind each next pod
    into the emptiest domain that still needs pods."""
    from model.components.scheduler import UNSCHEDULABLE, ports_conflict, untolerated_taints
    from model.objects import ObjectMeta, Pod, labels_match, node_affinity_matches, tolerated
    from explorer.smt import solver_timeout_ms
    solver = z3.Solver()
    solver.set("timeout", solver_timeout_ms(120_000))
    x = {}
    for ti, tpl in enumerate(templates):
        name, spec, count = tpl[:3]
        pod = Pod(ObjectMeta("default", name), spec)
        row = []
        for n in nodes:
            v = z3.Int(f"x_{ti}_{n.meta.name}")
            ok = (n.meta.name not in down and (not n.unschedulable or tolerated(spec.tolerations, UNSCHEDULABLE))
                  and labels_match(spec.node_selector, n.meta.labels)
                  and node_affinity_matches(spec.node_affinity, n.meta.labels, n.meta.name)
                  and not untolerated_taints(n, pod)
                  and all(t.topology_key in dict(n.meta.labels) for t in spec.affinity))
            solver.add(v >= 0, v <= (count if ok else 0))
            row.append(v)
            x[(ti, n.meta.name)] = v
        solver.add(z3.Sum(row) == count)
    scalars = sorted({k for tpl in templates for k, _ in tpl[1].requests.scalar})
    for n in nodes:
        cap = n.allocatable
        for field in ("cpu", "memory", "pods", *scalars):
            solver.add(z3.Sum([x[(ti, n.meta.name)] * tpl[1].requests.amount(field)
                               for ti, tpl in enumerate(templates)]) <= cap.amount(field))
    # NodePorts: pods whose host ports clash never share a node (a template's own pods clash with each other).
    ported = [ti for ti, tpl in enumerate(templates) if tpl[1].host_ports]
    for i, ti in enumerate(ported):
        for uj in ported[i:]:
            if ports_conflict(templates[ti][1].host_ports, templates[uj][1].host_ports):
                for n in nodes:
                    solver.add((x[(ti, n.meta.name)] if ti == uj else x[(ti, n.meta.name)] + x[(uj, n.meta.name)]) <= 1)
    # Required pod affinity: a template's pods only in domains that hold a pod its term selects, unless none
    # exists and the template attracts itself (the first pod of such a group goes anywhere, the rest follow).
    for ti, tpl in enumerate(templates):
        for term in tpl[1].affinity:
            domains = _domains(nodes, term.topology_key)
            others = [ui for ui, other in enumerate(templates)
                      if ui != ti and labels_match(term.selector, other[3] if len(other) > 3 else ())]
            own = labels_match(term.selector, tpl[3] if len(tpl) > 3 else ())
            total_others = z3.Sum([x[(ui, n.meta.name)] for ui in others for n in nodes]) if others else z3.IntVal(0)
            for members in domains.values():
                mine = z3.Sum([x[(ti, m)] for m in members])
                theirs = z3.Sum([x[(ui, m)] for ui in others for m in members]) if others else z3.IntVal(0)
                alone = z3.And(total_others == 0, mine == tpl[2]) if own else z3.BoolVal(False)
                solver.add(z3.Implies(mine > 0, z3.Or(theirs > 0, alone)))
    # Required anti-affinity: per topology domain, a template's pods exclude the pods its term selects.
    for ti, tpl in enumerate(templates):
        for term in tpl[1].anti_affinity:
            domains = _domains(nodes, term.topology_key)
            for ui, other in enumerate(templates):
                labels = other[3] if len(other) > 3 else ()
                if not labels_match(term.selector, labels):
                    continue
                for members in domains.values():
                    mine = z3.Sum([x[(ti, m)] for m in members])
                    theirs = z3.Sum([x[(ui, m)] for m in members])
                    solver.add(mine <= 1 if ui == ti else z3.Implies(mine > 0, theirs == 0))
    for ti, tpl in enumerate(templates):
        spec = tpl[1]
        pod = Pod(ObjectMeta("default", tpl[0]), spec)
        keys = [c.topology_key for c in spec.topology_spread]
        for ci, c in enumerate(spec.topology_spread):
            domains = {}
            for n in nodes:
                labels = dict(n.meta.labels)
                if (all(k in labels for k in keys) and labels_match(spec.node_selector, n.meta.labels)
                        and node_affinity_matches(spec.node_affinity, n.meta.labels, n.meta.name)
                        and not (c.honor_taints and untolerated_taints(n, pod))):
                    domains.setdefault(labels[c.topology_key], []).append(n.meta.name)
            matching = [ui for ui, other in enumerate(templates)
                        if labels_match(c.selector, other[3] if len(other) > 3 else ())]
            if not domains or not matching:
                continue
            counts = [z3.Sum([x[(ui, m)] for ui in matching for m in members]) for members in domains.values()]
            if len(domains) < c.min_domains:
                solver.add(*[k <= c.max_skew for k in counts])
            else:
                low = z3.Int(f"min_{ti}_{ci}")
                solver.add(*[z3.And(low <= k, k <= low + c.max_skew) for k in counts])
    from explorer.smt import check_sat
    return check_sat(solver)
