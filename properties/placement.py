"""The placement oracle (Z3): does any placement of these pods on these nodes satisfy the scheduler's filters?

Used by `n-plus-one-capacity` (after each failure) and by the diagnosis of
`deployment-converges`, to tell a limitation of the scheduler's greedy,
one-pod-at-a-time order from a real shortfall of capacity.  Pods of one
template are encoded as an integer count per node, not one variable per pod,
so that hundreds of nodes and pods decide in seconds.
"""

from __future__ import annotations

import z3


def placement_exists(nodes, templates):
    """Z3: integer counts x[t][n] of each template's pods per node, every constraint of the scheduler's
    filters (resources, taints, nodeSelector); None if a placement exists, else the unsat reason."""
    from model.components.scheduler import untolerated_taints
    from model.objects import ObjectMeta, Pod, labels_match
    solver = z3.Solver()
    x = {}
    for ti, (name, spec, count) in enumerate(templates):
        pod = Pod(ObjectMeta("default", name), spec)
        row = []
        for n in nodes:
            v = z3.Int(f"x_{ti}_{n.meta.name}")
            ok = (not n.unschedulable and labels_match(spec.node_selector, n.meta.labels)
                  and not untolerated_taints(n, pod))
            solver.add(v >= 0, v <= (count if ok else 0))
            row.append(v)
            x[(ti, n.meta.name)] = v
        solver.add(z3.Sum(row) == count)
    for n in nodes:
        cap = n.allocatable
        for field in ("cpu", "memory", "pods"):
            solver.add(z3.Sum([x[(ti, n.meta.name)] * getattr(spec.requests, field)
                               for ti, (_, spec, _) in enumerate(templates)]) <= getattr(cap, field))
    return solver.check() == z3.sat


