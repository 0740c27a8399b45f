"""EndpointSlice (discovery.k8s.io/v1): the endpoints of a Service, made by the EndpointSlice controller
(model/components/endpointslice.py), never by a manifest; collected once its Service is gone."""

from __future__ import annotations

from . import Kind


def encode(o, rec) -> None:
    rec["service"] = o.service
    rec["endpoints"] = [{"ip": e.ip, "podUid": e.pod_uid, "nodeName": e.node, "ready": e.ready,
                         "serving": e.serving, "terminating": e.terminating,
                         **({"hostname": e.hostname} if e.hostname else {})} for e in o.endpoints]


KIND = Kind("EndpointSlice", ("discovery.k8s.io/v1",), "endpointslices", deletable=False, dependent=True,
            encode=encode, doc=__doc__)
