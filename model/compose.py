"""Scenario -> the model's part of a System: the initial state, the rules, the canonical form.

Cone of influence (DESIGN section 2): only the components that the
scenario's objects give work to are composed; `Model.left_out` says what
was left out and why, and the report prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


from explorer import Rule

from .canonical import canonical, presentation, quotient, quotient_with_job_tracking
from .observation import recording_views
from .components import (apiserver, cloudcontroller, daemonset, deployment, dns, endpointslice, environment,
                         garbagecollector, job, kubelet, kubeproxy, leaderelection, nodelifecycle, operator, podgc,
                         replicaset, scheduler, serviceaccount, statefulset, user)
from .components import cronjob, podautoscaler
from .store import Store
from .components import disruption
from .components import attachdetach
from .kinds import KINDS, controllers_for, makes_pods, pod_specs, reconciled_by
from .scenario import Scenario
from .state import ClusterState, Host, Process
from .topology import etcd_members, placement
from .objects import evolve


@dataclass
class Model:
    scenario: Scenario
    init: ClusterState
    rules: List[Rule]
    canonical: object
    left_out: List[str] = field(default_factory=list)
    presentation: object = presentation
    observers: List[object] = field(default_factory=list)   # components only goals read (explorer/observers.py)
    # The canonical form the reductions search with (model/canonical.py `quotient`), or None where the
    # scenario can compare the uids of different groups; `quotient_note` says why not.
    quotient: object = None
    quotient_note: str = ""


def initial_state(sc: Scenario, track_revisions: bool) -> ClusterState:
    """The manifests as just applied to a fresh cluster: stored in etcd, nothing scheduled or running (but
    the addons, installed and settled before them: model/bootstrap.py)."""
    store = Store(track_revisions=track_revisions)
    hosts = tuple(Host(n.meta.name) for n in sc.nodes)
    objects = list(sc.nodes) + list(sc.objects)
    dns_records = ()
    if sc.addon_keys:
        from .bootstrap import settle
        booted = settle(sc, build_model)
        store = evolve(booted.store, track_revisions=track_revisions)
        hosts, dns_records = booted.hosts, booted.dns_records
        done = {(o.kind, o.meta.namespace, o.meta.name) for o in store.objects()}
        objects = [o for o in sc.objects if (o.kind, o.meta.namespace, o.meta.name) not in done]
    for obj in objects:
        uid, store = store.allocate_uid()
        obj = evolve(obj, meta=evolve(obj.meta, uid=uid))
        store = store.put(obj)
    members = tuple(True for _ in etcd_members(sc))
    cp = sc.control_plane
    # Leader-elected replicas, where a component has several; their Leases start unheld.
    processes = []
    for component, count in (("kube-controller-manager", cp.controller_managers), ("kube-scheduler", cp.schedulers)):
        if count > 1:
            processes += [Process(f"{component}-{i + 1}", component) for i in range(count)]
            uid, store = store.allocate_uid()
            lease = leaderelection.initial_lease(component)
            store = store.put(evolve(lease, meta=evolve(lease.meta, uid=uid)))
    singles = [c for c, count in (("kube-controller-manager", cp.controller_managers),
                                  ("kube-scheduler", cp.schedulers)) if count == 1]
    n = cp.apiservers
    # Clients spread over the apiserver instances behind the load balancer, in name order.
    clients = singles + [p.name for p in processes] + [kubelet.client(h.name) for h in hosts]
    if any(o.kind == "Service" for o in sc.objects):
        proxy = "network-plugin" if sc.network_plugin_replaces_kube_proxy else "kube-proxy"
        clients += [kubeproxy.client(proxy, h.name) for h in hosts] + ([dns.CLIENT] if sc.dns else [])
    clients += [operator.client(k) for k in sc.operators]
    clients = sorted(clients)
    connections = tuple((c, i % n) for i, c in enumerate(clients)) if n > 1 else ()
    init = ClusterState(sa_admission=serviceaccounts_modelled(sc), store=store, hosts=hosts, faults_left=sc.fault_budget, next_change=0, etcd_up=members, etcd_current=members,
                      max_lag=sc.max_staleness, apiservers_up=(True,) * n, cache_lag=(0,) * n,
                      connections=connections, processes=tuple(processes), dns_records=dns_records,
                      track_expectations=(sc.expectations or sc.scheduler_assume) and sc.max_staleness > 0)
    if sc.control_plane.cloud_controller_manager:   # the routes of the Nodes the cluster was installed with
        init = evolve(init, cloud_routes=cloudcontroller.initial_routes(init))
    return init


def serviceaccounts_modelled(sc: Scenario) -> bool:
    """The ServiceAccount controller and admission are composed where the scenario declares a Namespace or a
    ServiceAccount of its own (elsewhere the default ServiceAccounts are taken as made at installation)."""
    return bool(sc.declared_namespaces) or any(o.kind == "ServiceAccount" for o in sc.objects)


def _kind_controllers(sc: Scenario, faults):
    """(controller, its name in the report, how to build its rules) for each controller a kind names."""
    return (
        ("deployment", "Deployment controller", lambda: deployment.rules(
            status=sc.reads_deployment_status, min_ready=deployment.uses_min_ready(_declared(sc)))),
        ("replicaset", "ReplicaSet controller",
         lambda: replicaset.rules(expectations=sc.expectations, timeouts="request-timeout" in faults,
                                  per_key=sc.workqueue_per_key)),
        ("daemonset", "DaemonSet controller", lambda: daemonset.rules(expectations=sc.expectations)),
        ("job", "Job controller",
         lambda: job.rules(tracking=sc.job_tracking_with_finalizers, expectations=sc.expectations)),
        ("statefulset", "StatefulSet controller",
         lambda: statefulset.rules(statefulset.revision_table(sc.objects, sc.changes))),
        ("replicationcontroller", "ReplicationController controller",
         lambda: replicaset.rules(expectations=sc.expectations, timeouts="request-timeout" in faults,
                                  kind="ReplicationController")),
        ("disruption", "disruption controller", disruption.rules),
        ("cronjob", "CronJob controller", cronjob.rules),
        ("podautoscaler", "horizontal pod autoscaler controller", podautoscaler.rules),
    )


def build_model(sc: Scenario, record_views: bool = False, checked=None) -> Model:
    """The model of `sc`; `record_views` keeps the history variable that `no-time-travel` reads; `checked`, the
    names of the properties to check (None: all), leaves out components only unchecked properties read."""
    left_out: List[str] = []
    faults = set(sc.fault_kinds) if sc.fault_budget > 0 else set()
    # resourceVersions are observable only where some component can read a stale object.
    init = initial_state(sc, track_revisions=sc.max_staleness > 0)
    kinds = {o.kind for o in sc.objects} | {c.kind for c in sc.changes}
    needed = controllers_for(kinds)    # which controllers the objects give work to (model/kinds/)
    rules: List[Rule] = []
    observers = []
    if serviceaccounts_modelled(sc):
        rules += serviceaccount.rules()
    else:
        left_out.append("ServiceAccount controller and admission (no Namespace or ServiceAccount manifest: the "
                        "default ServiceAccounts are taken as made at installation)")
    # The controllers of kube-controller-manager that the scenario's kinds give work to (model/kinds/: each
    # kind names its controllers), composed in one loop; the others are left out, saying which kinds they lack.
    for name, title, build in _kind_controllers(sc, faults):
        if name in needed:
            rules += build()
        else:
            left_out.append(f"{title} (no {' or '.join(reconciled_by(name))})")
    if "deployment" in needed and not sc.reads_deployment_status:
        left_out.append("Deployment status writes (nothing reads Deployment status: no rolloutStatus change)")
    cloud_deletes_nodes = sc.control_plane.cloud_controller_manager and "vm-deleted" in faults
    out_of_service = any(podgc.out_of_service(n) for n in list(sc.nodes) + [
        c.obj for c in sc.changes if c.obj is not None and c.kind == "Node"])
    if "podgc" in needed or cloud_deletes_nodes or out_of_service:
        rules += podgc.rules(terminated="podgc" in needed, orphaned=cloud_deletes_nodes, terminating=out_of_service)
    else:
        left_out.append("PodGC (no Job, no Node the cloud deletes, no out-of-service taint)")
    cloud = sc.control_plane.cloud_controller_manager
    lb_services = any(o.kind == "Service" and o.type == "LoadBalancer" for o in _declared(sc))
    routes = cloud and (checked is None or "routes-converge" in checked)
    lbs = cloud and lb_services and (checked is None or "cloud-load-balancer-converges" in checked)
    if cloud:
        rules += cloudcontroller.rules(delete_nodes=cloud_deletes_nodes, routes=routes, load_balancers=lbs,
                                       stable_node_set=sc.stable_lb_node_set)
        if routes:
            observers.append(cloudcontroller.route_observer())
        if lbs:
            observers.append(cloudcontroller.load_balancer_observer(sc.stable_lb_node_set))
        if not cloud_deletes_nodes:
            left_out.append("cloud node lifecycle controller (no vm-deleted fault)")
        if not lbs:
            left_out.append("cloud service controller (no LoadBalancer Service, or its property is not checked)")
        if not routes:
            left_out.append("cloud route controller (routes-converge is not checked)")
    if (any(c.op == "delete" and KINDS[c.kind].owner for c in sc.changes) or cronjobs_delete_jobs(sc)
            or deployment.cleans_up(_declared(sc))):
        rules += garbagecollector.rules()
    else:
        left_out.append("garbage collector (nothing with dependents is deleted)")
    declared = _declared(sc)
    if makes_pods(declared):
        # The default scheduler, and any second scheduler that pods name in schedulerName (deployed
        # beside it, as the seed document's "custom schedulers" are).
        names = {scheduler.DEFAULT} | {spec.scheduler_name for spec in pod_specs(declared)}
        rules += scheduler.rules(sorted(names), assume=sc.scheduler_assume)
        rules += kubelet.rules(restarts="kubelet-restart" in faults, relist=sc.kubelet_relist,
                               pod_ips="endpointslice" in needed)
    else:
        left_out.append("kube-scheduler, kubelets (no pods to run)")
    if "endpointslice" in needed:
        rules += endpointslice.rules(expectations=sc.expectations)
        if slices_only_observed(sc, init):
            observers.append(endpointslice.observer())   # before kube-proxy, which reads what it fills
        if checked is not None and "service-routing-converges" not in checked:
            left_out.append("kube-proxy / network plugin Service rules (service-routing-converges is not checked)")
        elif sc.network_plugin_replaces_kube_proxy:
            rules += kubeproxy.rules("network-plugin")
            observers.append(kubeproxy.observer("network-plugin"))
            left_out.append("kube-proxy (the network plugin replaces it)")
        elif sc.kube_proxy:
            rules += kubeproxy.rules("kube-proxy")
            observers.append(kubeproxy.observer("kube-proxy"))
        else:
            left_out.append("kube-proxy (addons.kubeProxy: false, and no network plugin replaces it): "
                            "nothing programs Service rules")
        if sc.dns and checked is not None and "dns-converges" not in checked:
            left_out.append("DNS records (dns-converges is not checked)")
        elif sc.dns:
            rules += dns.rules()
            observers.append(dns.observer())
        else:
            left_out.append("DNS addon (addons.dns: false)")
    else:
        left_out.append("EndpointSlice controller, kube-proxy, pod IPs, DNS addon (no Service)")
    if init.processes:
        rules += leaderelection.rules(sc.control_plane.leader_election)
    rules += apiserver.rules(watch_caches=sc.max_staleness > 0, restarts="apiserver-restart" in faults,
                             place=placement(sc), failovers=len(init.apiservers_up) > 1 and bool(faults),
                             relist="not-older" if sc.informer_relist == "lastSynced" else "cache")
    rules += operator.rules(sc.operators)
    rules += user.rules(sc.changes, sc.rollout_status_checks_generation)
    # A change that applies a Node with a NoExecute taint gives the taint-eviction controller work too.
    tainted_by_change = any(c.kind == "Node" and c.obj is not None and any(t.effect == "NoExecute" for t in c.obj.taints)
                            for c in sc.changes)
    if sc.nodes and ({"node-crash", "zone-outage", "partition", "vm-deleted"} & faults or tainted_by_change):
        rules += nodelifecycle.rules(sc.control_plane.node_lifecycle, sc.taint_eviction_cancels_tolerated,
                                     timers=sc.taint_eviction_timers)
    elif any(c.op == "taint" and c.taint.effect == "NoExecute" for c in sc.changes):
        rules += nodelifecycle.taint_eviction_rules(sc.taint_eviction_cancels_tolerated, timers=sc.taint_eviction_timers)
        left_out.append("node lifecycle controller (no fault stops a kubelet's heartbeats)")
    if not sc.taint_eviction_timers and any(r.name == "taint-eviction.evict" for r in rules):
        left_out.append("taint-eviction timers and the two-pass return to Ready (kubernetes 112930): an eviction is "
                        "one step once due, the unreachable taints go in one pass (behaviour.taintEvictionTimers: "
                        "true composes them)")
    else:
        left_out.append("node lifecycle controller, taint eviction (no fault stops a kubelet's heartbeats)")
    if attachdetach.volumes_modelled(sc):
        rules += attachdetach.rules(force_on_timeout=sc.force_detach_on_timeout)
    rules += environment.rules(sc.fault_kinds, sc.fault_budget, placement(sc))
    cronjobs = [o for o in declared if o.kind == "CronJob"]
    if cronjobs:   # their scheduled times: the clock's ticks
        rules += environment.tick_rules(deadlines=any(o.starting_deadline is not None for o in cronjobs))
    if "deployment" in needed and sc.reads_deployment_status and any(
            o.kind == "Deployment" and deployment.has_deadline(o) for o in _declared(sc)):
        rules.append(deployment.deadline_rule(list(rules)))   # after the others: it reads whether they can act
    if record_views and sc.max_staleness > 0:
        rules = [recording_views(r) if r.fair else r for r in rules]
    why = uid_order_across_groups(sc)
    # A CronJob's Jobs are tracked with finalizers too.
    jobs = sc.job_tracking_with_finalizers and any(o.kind in ("Job", "CronJob") for o in declared)
    return Model(sc, init, rules, canonical, left_out, observers=observers,
                 quotient=None if why else quotient_with_job_tracking if jobs else quotient,
                 quotient_note=why or "")


def cronjobs_delete_jobs(sc: Scenario) -> bool:
    """Whether a CronJob's controller may delete Jobs (Replace, history limits), with background propagation:
    then the garbage collector deletes their pods."""
    return any(cronjob.deletes_jobs(o) for o in _declared(sc) if o.kind == "CronJob")


def _declared(sc: Scenario) -> list:
    """The scenario's objects and those its changes apply."""
    return list(sc.objects) + [c.obj for c in sc.changes if c.obj is not None]


def slices_only_observed(sc: Scenario, init: ClusterState) -> bool:
    """Nothing but observers (kube-proxy) and convergence goals reads EndpointSlices: one apiserver without
    lagging caches (no revisions; endpointslices-not-duplicated, the safety property on slices, applies only
    with lagging caches), no leader-elected replicas, no garbage collector, no cloud provider."""
    return (sc.max_staleness == 0 and not init.store.track_revisions and len(init.apiservers_up) == 1
            and not init.processes and not any(c.op == "delete" and KINDS[c.kind].owner for c in sc.changes)
            and not sc.control_plane.cloud_controller_manager)


def uid_order_across_groups(sc: Scenario) -> Optional[str]:
    """Why a rule may compare the creation order (uids) of objects of different groups here, so that the
    grouped renumbering of `canonical.quotient` would not be exact; None where none can."""
    objs = _declared(sc)
    if len({spec.priority for spec in pod_specs(objs)}) > 1:
        return "preemption orders its victims by creation, whoever owns them"
    if any(o.kind == "Pod" and not any(r.controller for r in o.meta.owner_references) for o in objs):
        return "a Pod without a controller may be adopted, joining its new owner's pods in creation order"
    if any(c.op == "delete" and c.propagation == "Orphan" for c in sc.changes):
        return "an orphaned pod may be adopted, joining its new owner's pods in creation order"
    return None
