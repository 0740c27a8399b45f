"""The ServiceAccount controller of kube-controller-manager, and the ServiceAccount admission plugin.

Modelled (pkg/controller/serviceaccount/serviceaccounts_controller.go,
plugin/pkg/admission/serviceaccount): the controller ensures a `default`
ServiceAccount in every Namespace that is not being deleted (one create per
step, one workqueue key per Namespace).  The admission plugin rejects the
creation of a pod whose ServiceAccount (spec.serviceAccountName, `default`
unless set) does not exist in its namespace — it looks in its cache, then
with a live lookup, so the check is against etcd here — and the pod's
creator retries (kubernetes issue 66689: pods of a new namespace are refused
until the controller has run, longer during a controller-manager failover).

Composed only where the scenario declares a Namespace or a ServiceAccount of
its own: elsewhere the namespaces' default ServiceAccounts are taken as made
when the cluster was installed, and admission is not modelled.

Abstracted: tokens (the token controller, projected volumes), the
ServiceAccount's secrets, imagePullSecrets.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import ObjectMeta, ServiceAccount
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
DEFAULT = "default"


def admits(store, pod) -> bool:
    """The admission plugin's check: the pod's ServiceAccount exists in its namespace."""
    name = pod.spec.service_account
    return any(sa.meta.name == name and sa.meta.namespace == pod.meta.namespace for sa in store.serviceaccounts)


def create_default(s: ClusterState) -> Iterator:
    """The controller creates the `default` ServiceAccount of a Namespace that has none."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        have = {sa.meta.namespace for sa in view.serviceaccounts if sa.meta.name == DEFAULT}
        for ns in view.namespaces:
            if ns.meta.deleting or ns.meta.name in have:
                continue
            nxt = apiserver.create(s, ServiceAccount(meta=ObjectMeta(namespace=ns.meta.name, name=DEFAULT)))
            if nxt is not None:
                yield label("serviceaccount", "create_default", (("namespace", ns.meta.name),) + by), nxt


def rules() -> List[Rule]:
    return [Rule("serviceaccount.create_default", create_default, doc=create_default.__doc__)]
