"""Services: EndpointSlices, the nodes' Service rules (kube-proxy or the network plugin), DNS, pod IPs."""

import random


from explorer import check, render_label
from model.canonical import apply_uid_map, canonical
from model.components import networkplugin

from test_model import composed
from test_scenarios import run


def result(name, props=()):
    """Searched as composed (no observer elimination): these tests read kube-proxy's and DNS's own state."""
    comp = composed(name, props)
    return comp, check(comp.system, reduction="none")


def by_prop(res):
    return {v.prop: v for v in res.verdicts}


def test_no_proxy_means_no_service_rules():
    comp, res = result("service-no-proxy")
    v = by_prop(res)
    assert v["service-routing-converges"].verdict == "violated"
    assert "stuck" in v["service-routing-converges"].diagnosis
    assert "node n1 has no rule for Service default/web" in v["service-routing-converges"].diagnosis
    assert v["endpoints-converge"].verdict == "holds" and v["dns-converges"].verdict == "holds"
    assert not any(h.service_rules for s in res.search.graph.states for h in s.hosts)
    assert any("kube-proxy" in x for x in comp.model.left_out)


def test_replacing_network_plugin_routes_services():
    comp, res = result("service-proxy-replaced")
    assert by_prop(res)["service-routing-converges"].verdict == "holds"
    names = {r.name for r in comp.system.rules}
    assert "network-plugin.sync_rules" in names and "kube-proxy.sync_rules" not in names
    # Not vacuous: a reachable state routes the Service to both of its pods on every node.
    routed = [s for s in res.search.graph.states
              if all(dict((k, b) for k, _, b in h.service_rules).get("default/web", ()) and
                     len(dict((k, b) for k, _, b in h.service_rules)["default/web"]) == 2 for h in s.hosts)]
    assert routed


def test_a_proxy_that_skips_updates_is_caught():
    """A kube-proxy that programs a Service once and never again leaves stale backends: the property sees it."""
    from model.components import kubeproxy
    comp = composed("dns-service")
    real = next(r for r in comp.system.rules if r.name == "kube-proxy.sync_rules")

    def lazy(s):
        for lab, nxt in real.fn(s):
            host = next(h for h in s.hosts if h.name == dict(lab[2])["node"])
            if {k for k, _, _ in host.service_rules} != {k for k, _, _ in kubeproxy.service_rules(s.store)}:
                yield lab, nxt

    from explorer import Rule
    comp.system.rules = [Rule(r.name, lazy) if r is real else r for r in comp.system.rules]
    # The lazy proxy is no longer the sync its observer declaration describes, so it is searched as composed
    # (tests/test_observers.py checks the real one against its declaration).
    v = by_prop(check(comp.system, reduction="none"))["service-routing-converges"]
    assert v.verdict == "violated" and "not to its ready pods" in v.diagnosis


def test_endpoints_mark_terminating_pods_not_ready():
    comp, res = result("service-no-proxy")
    assert by_prop(res)["endpoints-converge"].verdict == "holds"
    eps = [e for s in res.search.graph.states for es in s.store.endpointslices for e in es.endpoints]
    assert any(e.terminating for e in eps), "no reachable slice lists a terminating pod: the check is vacuous"
    assert all(not e.ready for e in eps if e.terminating)
    assert all(e.ready == (e.serving and not e.terminating) for e in eps)


def test_dns_pod_replaced_after_its_node_crashes():
    comp, res = result("dns-service")
    v = by_prop(res)
    for p in ("dns-converges", "service-routing-converges", "pods-rescheduled-after-node-failure"):
        assert v[p].verdict == "holds", p
    init = comp.system.init_states[0]
    (dns_pod,) = [p for p in init.store.pods if p.meta.namespace == "kube-system"]
    first = dns_pod.spec.node_name
    # Not vacuous: a reachable state has CoreDNS's node down and a CoreDNS pod serving from the other one.
    moved = [s for s in res.search.graph.states
             if not s.host(first).up and any(p.meta.namespace == "kube-system" and p.phase == "Running"
                                             and p.spec.node_name not in ("", first) for p in s.store.pods)]
    assert moved


def test_addons_are_settled_before_the_manifests():
    comp = composed("dns-service")
    s = comp.system.init_states[0]
    (dns_pod,) = [p for p in s.store.pods]
    assert dns_pod.meta.namespace == "kube-system" and dns_pod.phase == "Running" and dns_pod.ip.startswith("10.244.")
    assert s.dns_records == (("kube-system/kube-dns", "10.96.0.10"),)
    assert [es.service for es in s.store.endpointslices] == ["kube-dns"]
    assert all(h.service_rules == (("kube-system/kube-dns", "10.96.0.10", (dns_pod.ip,)),) for h in s.hosts)
    # The scenario's own manifests are just applied: its Deployment has no ReplicaSet yet.
    assert [d.meta.key for d in s.store.deployments] == ["kube-system/coredns", "default/web"]
    assert [rs.meta.namespace for rs in s.store.replicasets] == ["kube-system"]


def test_dns_unschedulable_names_the_taint():
    comp, res = result("dns-unschedulable")
    v = by_prop(res)["dns-converges"]
    assert v.verdict == "violated"
    assert "no DNS pod" in v.diagnosis and "untolerated taint workload=batch:NoSchedule" in v.diagnosis
    assert "the cpu would fit" in v.diagnosis


def test_broken_ipam_gives_duplicate_ips(monkeypatch):
    """pod-ip-unique is not vacuous: an IPAM that hands out one address twice is caught."""
    monkeypatch.setattr(networkplugin, "allocate_ip", lambda host, i: networkplugin.pod_cidr_prefix(i) + "2")
    comp, res = result("service-proxy-replaced", ("pod-ip-unique",))
    v = by_prop(res)["pod-ip-unique"]
    assert v.verdict == "violated" and "both hold IP 10.244." in v.diagnosis


def test_pod_ips_unique_where_pods_share_a_node():
    comp, res = result("service-proxy-replaced", ("pod-ip-unique",))
    assert by_prop(res)["pod-ip-unique"].verdict == "holds"
    shared = [h for s in res.search.graph.states for h in s.hosts if len(h.pods) >= 3]
    assert shared and all(len({rp.ip for rp in h.pods}) == len(h.pods) for h in shared)


def test_unchecked_properties_leave_their_components_out():
    comp = composed("dns-service", ("endpoints-converge",))
    names = {r.name for r in comp.system.rules}
    assert "kube-proxy.sync_rules" not in names and "dns.sync_records" not in names
    assert "endpointslice.sync_service" in names


def test_renumbered_states_have_renumbered_successors():
    """Every place that holds a uid is renumbered (endpoints' pods included): a state whose uids are spread
    out has, once canonical, the same successors as the original."""
    comp, res = result("dns-service", ("endpoints-converge",))
    rng = random.Random(7)
    states = res.search.graph.states
    for s in rng.sample(states, 40):
        uids = sorted(canonical.__globals__["_uids"](s))
        spread = {u: 3 * u + 11 for u in uids}
        t = apply_uid_map(s, spread, None, 3 * (uids[-1] + 1) + 11)
        assert canonical(t) == canonical(s)
        succ = sorted(render_label(l) for r in comp.system.rules for l, _ in r.fn(s))
        succ_t = [render_label(l) for r in comp.system.rules for l, _ in r.fn(t)]
        assert len(succ) == len(succ_t)
        a = {canonical(n) for r in comp.system.rules for _, n in r.fn(s)}
        b = {canonical(n) for r in comp.system.rules for _, n in r.fn(t)}
        assert a == b


def test_cloud_forgets_a_deleted_vm():
    comp, res = result("cloud-load-balancer")
    v = by_prop(res)
    assert v["routes-converge"].verdict == "holds" and v["cloud-load-balancer-converges"].verdict == "holds"
    init = comp.system.init_states[0]
    assert init.cloud_routes == (("n1", "10.244.0.0/24"), ("n2", "10.244.1.0/24")) and not init.cloud_lbs
    # Not vacuous: a reachable end has n1's VM gone, its Node, route and load-balancer backend with it.
    ends = [s for s in res.search.graph.states if s.host("n1").vm_deleted and s.store.get("Node", "", "n1") is None
            and s.cloud_lbs == (("default/shop", ("n2",)),) and s.cloud_routes == (("n2", "10.244.1.0/24"),)]
    assert ends
    assert any(s.cloud_lbs == (("default/shop", ("n1", "n2")),) for s in res.search.graph.states)


def test_route_controller_that_never_deletes_is_caught():
    from explorer import Rule
    comp = composed("cloud-load-balancer", ("routes-converge",))
    real = next(r for r in comp.system.rules if r.name == "cloud-route.reconcile_routes")
    comp.system.rules = [Rule(r.name, lambda s, f=r.fn: ((l, n) for l, n in f(s) if l[1] != "delete_route"))
                         if r is real else r for r in comp.system.rules]
    # The broken controller is no longer the sync its observer declaration describes: searched as composed.
    v = by_prop(check(comp.system, reduction="none"))["routes-converge"]
    assert v.verdict == "violated" and "whose Node is gone" in v.diagnosis


def test_load_balancer_backends_before_stable_node_set():
    """With stableLoadBalancerNodeSet: false (before 1.30), an unready Node leaves the load balancer."""
    from kubecheck.compose import compose
    from model.scenario import parse_scenario
    import os
    from conftest import SCENARIOS
    text = open(os.path.join(SCENARIOS, "cloud-load-balancer.yaml")).read().replace(
        "  addons: {dns: false}", "  addons: {dns: false}\n  behaviour: {stableLoadBalancerNodeSet: false}")
    comp = compose(parse_scenario(text), ("cloud-load-balancer-converges",))
    res = check(comp.system, reduction="none")   # the test reads the load balancers of the explored states
    assert by_prop(res)["cloud-load-balancer-converges"].verdict == "holds"
    # The deleted VM's Node, once Unknown, is out of the load balancer while it still exists.
    assert any(s.store.get("Node", "", "n1") is not None and s.store.get("Node", "", "n1").ready == "Unknown"
               and s.cloud_lbs == (("default/shop", ("n2",)),) for s in res.search.graph.states)


def test_without_the_tracker_a_stale_cache_duplicates_the_slice():
    """Issue 92928: the controller syncs the Service again before its cache shows the slice it made; the
    duplicate is deleted later (endpoints-converge holds), but it was made.  With the tracker, no reachable
    state has two slices."""
    sc, comp, res = run("endpointslice-no-tracker")
    v = next(v for v in res.verdicts if v.prop == "endpointslices-not-duplicated")
    assert [render_label(l) for l in v.trace.labels[1:]] == ["endpointslice.create_slice(service=default/web)"] * 2
    assert max(len(s.store.endpointslices) for s in res.search.graph.states) == 2
    sc, comp, res = run("endpointslice-tracker")
    assert max(len(s.store.endpointslices) for s in res.search.graph.states) == 1
