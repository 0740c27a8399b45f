"""Which client acts in a step, and the newest view each client has acted on (for `no-time-travel`).

A step of a component acts on what its apiserver showed it: `client_of`
names that client from the step's label.  Where views can be stale
(`check.maxStaleness` > 0), the state keeps, per client, the revision of the
newest view it has acted on (`ClusterState.watermarks`, a history variable
for the property, not something a component remembers): a client whose view
goes back in time, as after a restart onto a lagging apiserver, is caught by
comparing the two.
"""

from __future__ import annotations

from typing import Optional


from explorer import Rule

from .components import CLIENTS, apiserver
from .objects import evolve


def client_of(lab) -> Optional[str]:
    """The client whose view a step acted on (the component registry, model/components/__init__.py), or None
    for steps that act on no view (faults, users, time)."""
    component, action, args, _ = lab
    a = dict(args)
    client = CLIENTS.get(component)
    if client is None:
        if action == "bind":  # a second scheduler, whose component is its schedulerName
            return a.get("by", component)
        return None
    if callable(client):
        return client(a)
    return a.get("by", client)


def watermark(s, client: str) -> int:
    for c, rev in s.watermarks:
        if c == client:
            return rev
    return 0


def recording_views(rule: Rule) -> Rule:
    """The same rule, recording in each next state the revision of the view its client acted on."""

    def fn(s):
        for lab, nxt in rule.fn(s):
            client = client_of(lab)
            if client is not None:
                view = apiserver.view(s, client)
                if view is not None and view.revision > watermark(nxt, client):
                    marks = tuple(sorted([(c, r) for c, r in nxt.watermarks if c != client] + [(client, view.revision)]))
                    nxt = evolve(nxt, watermarks=marks)
            yield lab, nxt

    return Rule(rule.name, fn, rule.fair, rule.doc)
