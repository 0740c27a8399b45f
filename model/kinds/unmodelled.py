"""Kinds kubecheck knows but does not run: each with what it would change in a real cluster.

A manifest of one of these kinds is left out with one warning per kind
(`--strict`: an error), naming the properties whose verdicts it may change;
the inert ones (no property kubecheck checks depends on them) are left out
silently, their reason listed here.  A kind in neither list is unknown: left
out with a warning that any verdict may differ.
"""

from __future__ import annotations

PLACEMENT = ("deployment-converges", "daemonset-converges", "job-completes", "n-plus-one-capacity",
             "statefulset-converges")

# kind -> (the properties whose verdicts it may change, what it does)
MAY_CHANGE = {
    "PersistentVolume": (PLACEMENT, "volume binding and attachment are not modelled"),
    "StorageClass": (PLACEMENT, "volume binding and attachment are not modelled"),
    "ResourceQuota": (PLACEMENT, "admission would refuse pods beyond the quota"),
    "LimitRange": (PLACEMENT + ("node-capacity",), "admission would default and bound requests"),
    "RuntimeClass": (PLACEMENT + ("node-capacity",), "its overhead and scheduling are not modelled"),
    "Endpoints": (("endpoints-converge", "service-routing-converges"), "endpoints of a Service without a selector"),
    "EndpointSlice": (("endpoints-converge", "service-routing-converges"), "slices of the user's"),
    "MutatingWebhookConfiguration": (("*",), "webhooks may change any object on admission"),
    "ValidatingWebhookConfiguration": (("*",), "webhooks may refuse any write"),
    "ValidatingAdmissionPolicy": (("*",), "admission policies may refuse any write"),
    "VerticalPodAutoscaler": (PLACEMENT + ("node-capacity",), "it would change requests"),
    "Lease": (("single-leader",), "a Lease of the user's"),
    "DeviceClass": (PLACEMENT, "dynamic resource allocation"),
    "ResourceClaim": (PLACEMENT, "dynamic resource allocation"),
    "ResourceClaimTemplate": (PLACEMENT, "dynamic resource allocation"),
}

# kind -> why no property kubecheck checks depends on it
INERT = {
    **{k: "configuration the containers read: the model takes it as present"
       for k in ("ConfigMap", "Secret")},
    **{k: "authorization: every modelled component is allowed what it does"
       for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    "NetworkPolicy": "filters traffic: kubecheck checks that Service rules are programmed, not what traffic passes",
    "Ingress": "routes external HTTP traffic: no property checks what passes through an ingress controller",
    "IngressClass": "names an ingress controller: no property checks ingress traffic",
    "Gateway": "routes external traffic: no property checks it",
    "HTTPRoute": "routes external traffic: no property checks it",
    "GatewayClass": "names a gateway controller: no property checks it",
    "APIService": "an aggregated API: no property reads its objects",
    "PodSecurityPolicy": "removed in 1.25",
    "CertificateSigningRequest": "certificates: no property depends on them",
    "Event": "events only report",
}
