"""The components of a cluster, one module each, and the registry of which client each one's steps act as.

`CLIENTS` maps the component name that begins a step's label to the client
whose apiserver view the step acted on: the process's shared informers
(kube-controller-manager, cloud-controller-manager, coredns), or a
per-node or per-kind client named from the label's arguments (a kubelet, a
kube-proxy, an operator).  A step of a leader-elected replica names its
replica (`by=`), which is then the client.  Components whose steps act on no
view (faults, the user, time, the apiserver and etcd themselves, leader
election's Lease writes) are in `NO_VIEW`; `tests/test_manifests.py` checks
that every component of every built-in scenario is in one of the two, so
that `no-time-travel` cannot miss one.
"""

from __future__ import annotations


def _kube_controller_manager():
    from . import (attachdetach, cronjob, daemonset, deployment, disruption, endpointslice, garbagecollector, job,
                   nodelifecycle, podautoscaler, podgc, replicaset, serviceaccount, statefulset, tainteviction)
    out = {m.__name__.rsplit(".", 1)[1]: m.CLIENT
           for m in (attachdetach, cronjob, daemonset, deployment, disruption, endpointslice, garbagecollector, job,
                     nodelifecycle, podautoscaler, podgc, replicaset, serviceaccount, statefulset)}
    out["taint-eviction"] = tainteviction.CLIENT      # a controller of its own in kube-controller-manager
    out["replicationcontroller"] = replicaset.CLIENT  # the ReplicaSet code, kept as a controller of its own
    return out


def _cloud():
    from . import cloudcontroller
    return {name: cloudcontroller.CLIENT for name in ("cloud-node-lifecycle", "cloud-route", "cloud-service")}


def _dns():
    from . import dns
    return {"dns": dns.CLIENT}


def _kubeproxy_client(component, a):
    from .kubeproxy import client
    return client(component, a["node"]) if "node" in a else None


def _operator_client(a):
    from .operator import client
    return client(a["kind"]) if "kind" in a else None


# component name of a step's label -> the client it acts as (a string), or how to name it from the label's
# arguments (a callable); a second scheduler's steps are named after its schedulerName (see client_of).
CLIENTS = {**_kube_controller_manager(), **_cloud(), **_dns(),
           "default-scheduler": "kube-scheduler",
           "kubelet": lambda a: f"kubelet/{a['node']}" if "node" in a else None,
           "kube-proxy": lambda a: _kubeproxy_client("kube-proxy", a),
           "network-plugin": lambda a: _kubeproxy_client("network-plugin", a),
           "operator": lambda a: _operator_client(a)}
# "clock": a CronJob's scheduled times come (model/components/environment.py); "time": a pod has been Ready for
# minReadySeconds (model/components/deployment.py).
NO_VIEW = frozenset({"environment", "user", "apiserver", "leaderelection", "etcd", "clock", "time"})
