"""The EndpointSlice controller of kube-controller-manager.

Modelled (pkg/controller/endpointslice, and staging/src/k8s.io/endpointslice's
reconciler and utils): for each Service with a selector, one reconcile (one
workqueue key) lists, from the controller's view, the pods of its namespace
that the selector matches and that ShouldPodBeInEndpoints keeps (not
Succeeded or Failed, with a pod IP; terminating pods are kept, marked), and
turns each into an endpoint as podToEndpoint does: `serving` is the pod's
Ready condition, `terminating` is its deletionTimestamp, `ready` is serving
and not terminating (or always, with publishNotReadyAddresses).  The
Service's slice is created if it has none (named from generateName
`<service>-`, labelled with the Service name, owned by the Service, so that
the garbage collector removes it with the Service), updated when its
endpoints differ (compare-and-swap on the slice's resourceVersion), and a
duplicate — made on a view that did not show the first — is deleted.  One
write per step.

Stale views: the controller tracks the slices it wrote (the
EndpointSliceTracker, since 1.19, the fix for kubernetes issue 92928, where
a stale informer cache made it create duplicate slices): with
`behaviour.expectations` (the default) it does not reconcile a Service again
until its view shows its own last write for it, as the other controllers'
expectations do.

Where nothing but kube-proxy and convergence goals reads the slices (one
apiserver without lagging caches, one controller-manager, no garbage
collector, no cloud provider), the search runs around the controller
(`observer`, explorer/observers.py): its syncs are not interleaved with
everything else, and the goals are asked of the slices as it would leave
them.

Headless Services (spec.clusterIP None) get their slices the same way
(the controller does not tell them apart); an endpoint carries the pod's
hostname where the pod's subdomain names the Service (ShouldSetHostname, as
a StatefulSet's pods do for its serviceName), for the DNS names
`<hostname>.<service>`.

Abstracted: ports (one per Service, the same on the pods); address types
(IPv4 only); at most 100 endpoints per slice (one slice is enough for every
modelled Service); topology hints; the mirroring controller and the legacy
Endpoints controller.
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from explorer import Observer, Rule, label

from ..objects import Endpoint, EndpointSlice, ObjectMeta, OwnerReference, Service, evolve, labels_match
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def should_be_in_endpoints(pod) -> bool:
    """ShouldPodBeInEndpoints(pod, includeTerminating=true): not terminal, and it has an IP."""
    return pod.phase not in ("Succeeded", "Failed") and pod.ip != ""


def should_set_hostname(pod, svc: Service) -> bool:
    """ShouldSetHostname: the pod has a hostname and its subdomain names this Service, in its namespace."""
    return bool(pod.spec.hostname) and pod.spec.subdomain == svc.meta.name and pod.meta.namespace == svc.meta.namespace


def endpoint_of(pod, svc: Service) -> Endpoint:
    """podToEndpoint: serving is the pod's Ready condition; ready is serving and not terminating; the hostname
    is the pod's where ShouldSetHostname."""
    serving = pod.ready
    terminating = pod.meta.deleting
    return Endpoint(pod.meta.uid, pod.ip, pod.spec.node_name, svc.publish_not_ready or (serving and not terminating),
                    serving, terminating, pod.spec.hostname if should_set_hostname(pod, svc) else "")


def desired_endpoints(store, svc: Service) -> Tuple[Endpoint, ...]:
    """The endpoints the Service should list, from the pods in `store` (sorted by pod uid)."""
    if not svc.selector:
        return ()
    ns = svc.meta.namespace
    return tuple(endpoint_of(p, svc) for p in store.pods
                 if p.meta.namespace == ns and labels_match(svc.selector, p.meta.labels) and should_be_in_endpoints(p))


def slices_of(store, svc: Service) -> List[EndpointSlice]:
    """The slices the Service owns, oldest first."""
    uid = svc.meta.uid
    return [es for es in store.endpointslices if es.meta.namespace == svc.meta.namespace
            and es.meta.controller_uid() == uid]


def new_slice(svc: Service, endpoints) -> EndpointSlice:
    meta = ObjectMeta(namespace=svc.meta.namespace, name="", generate_name=f"{svc.meta.name}-",
                      labels=((SERVICE_NAME_LABEL, svc.meta.name),),
                      owner_references=(OwnerReference("Service", svc.meta.name, svc.meta.uid, True),))
    return EndpointSlice(meta=meta, service=svc.meta.name, endpoints=endpoints)


def _writes(s: ClusterState, expectations: bool) -> Iterator:
    """(action, label args, state after the write) for each Service whose slices need a write."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for svc in view.services:
            if not svc.selector or svc.meta.deleting:
                continue
            if expectations and view.revision < s.expectation(actor, svc.meta.uid):
                continue   # the tracker: its own last write is not in the view yet
            want = desired_endpoints(view, svc)
            have = slices_of(view, svc)
            args = (("service", svc.meta.key),) + by
            if not have:
                nxt, action = apiserver.create(s, new_slice(svc, want)), "create_slice"
            elif len(have) > 1:
                dup = have[-1]
                nxt, action = apiserver.delete(s, dup), "delete_duplicate"
                args = args + (("slice", dup.meta.name),)
            elif have[0].endpoints != want:
                nxt = apiserver.update(s, evolve(have[0], endpoints=want), have[0].meta.resource_version,
                                       spec_changed=False)
                action = "update_slice"
            else:
                continue
            if nxt is None:
                continue
            if expectations:
                nxt = nxt.expect(actor, svc.meta.uid, nxt.store.revision)
            yield action, args, nxt


def observer() -> Observer:
    """The controller as an observer (explorer/observers.py), where nothing but observers and convergence
    goals reads EndpointSlices: one apiserver without lagging caches (no revisions: a slice write changes
    nothing any other object or view holds), one controller-manager, no garbage collector (no Service is
    deleted), as the composer checks (`model/compose.py`).  Its state is the slices in etcd; a sync of every
    Service leaves them as `_writes` would, one write per Service until none is left; kube-proxy, the other
    observer that reads them, is filled after it."""
    def strip(s: ClusterState) -> ClusterState:
        if not s.store.endpointslices:
            return s
        svc_uids = {svc.meta.uid for svc in s.store.services}
        exp = tuple(e for e in s.expectations if e[1] not in svc_uids)
        return evolve(s, store=evolve(s.store, endpointslices=()), expectations=exp)

    def fill(s: ClusterState) -> ClusterState:
        for _ in range(3 * len(s.store.services) + 1):
            step = next(_writes(s, False), None)
            if step is None:
                return s
            s = step[2]
        return s

    def values(s: ClusterState) -> tuple:
        """What its syncs make, without the identities a create allocates."""
        return tuple(sorted((es.meta.namespace, es.service, es.endpoints) for es in s.store.endpointslices))

    def runs(s: ClusterState) -> bool:
        return any(True for _ in leaderelection.acting_views(s, CLIENT))

    def exact(s: ClusterState) -> bool:
        """Where no replica can sync, the goals read slices as they are: not what the stripped state keeps."""
        return runs(s) or not any(svc.selector for svc in s.store.services)

    return Observer("endpointslice", ("endpointslice.sync_service",), strip, fill, values, exact, runs)


def rules(expectations: bool = True) -> List[Rule]:
    def sync_service(s: ClusterState) -> Iterator:
        """The controller creates, updates or de-duplicates a Service's EndpointSlice to list the pods it selects."""
        for action, args, nxt in _writes(s, expectations):
            yield label("endpointslice", action, args), nxt

    return [Rule("endpointslice.sync_service", sync_service, doc=sync_service.__doc__)]
