"""API objects as kube-apiserver stores them in etcd: frozen, canonical values.

Only the fields that some modelled component reads are kept.  Every object
has `ObjectMeta` (namespace, name, uid, resourceVersion, generation, labels,
ownerReferences, deletionTimestamp as a flag, finalizers, generateName).
Collections are sorted tuples, never dicts or lists, so that equality,
hashing and iteration order do not depend on PYTHONHASHSEED.

Abstractions: time is not stored (deletionTimestamp is "set" or not);
containers are reduced to their name and image; a pod's resource requests
are its effective request as kube-scheduler computes it (model/kinds/
podspec.py: containers, init containers, sidecars, overhead).
"""

from __future__ import annotations

import operator
from typing import Optional, Tuple

import attrs
from attrs import frozen

Labels = Tuple[Tuple[str, str], ...]


@frozen
class Resources:
    """Requests or allocatable: cpu in millicores, memory in bytes, pod count, and every other resource
    (ephemeral-storage, hugepages-*, extended resources such as nvidia.com/gpu) as sorted (name, amount)
    pairs in `scalar`; a resource a node does not list it has none of."""

    cpu: int = 0
    memory: int = 0
    pods: int = 0
    scalar: Tuple[Tuple[str, int], ...] = ()

    def __add__(self, other: "Resources") -> "Resources":
        scalar = self.scalar
        if other.scalar:
            scalar = _add_scalar(scalar, other.scalar) if scalar else other.scalar
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods, scalar)

    def fits_in(self, cap: "Resources") -> bool:
        return (self.cpu <= cap.cpu and self.memory <= cap.memory and self.pods <= cap.pods
                and (not self.scalar or _scalar_short(self.scalar, cap.scalar) is None))

    def short_of(self, cap: "Resources") -> Optional[str]:
        """The first of cpu, memory, pods and the other resources these requests exceed `cap` in, or None
        when they fit."""
        if self.cpu > cap.cpu:
            return "cpu"
        if self.memory > cap.memory:
            return "memory"
        if self.pods > cap.pods:
            return "pods"
        return _scalar_short(self.scalar, cap.scalar) if self.scalar else None

    def amount(self, name: str) -> int:
        if name in ("cpu", "memory", "pods"):
            return getattr(self, name)
        return dict(self.scalar).get(name, 0)

    def larger(self, other: "Resources") -> "Resources":
        """Per resource, the larger of the two (an init container's requests against the containers')."""
        names = sorted({k for k, _ in self.scalar} | {k for k, _ in other.scalar})
        scalar = tuple((k, max(self.amount(k), other.amount(k))) for k in names)
        return Resources(max(self.cpu, other.cpu), max(self.memory, other.memory), max(self.pods, other.pods),
                         tuple(p for p in scalar if p[1]))


def _add_scalar(a, b):
    total = dict(a)
    for k, v in b:
        total[k] = total.get(k, 0) + v
    return tuple(sorted(total.items()))


def _scalar_short(need, have) -> Optional[str]:
    cap = dict(have)
    for k, v in need:
        if v > cap.get(k, 0):
            return k
    return None


ZERO = Resources()


@frozen
class OwnerReference:
    kind: str
    name: str
    uid: int
    controller: bool = True


@frozen
class ObjectMeta:
    namespace: str
    name: str
    uid: int = 0
    resource_version: int = 0
    generation: int = 1
    labels: Labels = ()
    owner_references: Tuple[OwnerReference, ...] = ()
    deleting: bool = False            # metadata.deletionTimestamp is set
    finalizers: Tuple[str, ...] = ()
    generate_name: str = ""           # the name was generated from this prefix

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def controller_uid(self) -> Optional[int]:
        for ref in self.owner_references:
            if ref.controller:
                return ref.uid
        return None


@frozen
class Taint:
    key: str
    effect: str          # NoSchedule | PreferNoSchedule | NoExecute
    value: str = ""

    def __str__(self) -> str:
        return f"{self.key}{'=' + self.value if self.value else ''}:{self.effect}"


@frozen
class Toleration:
    key: str = ""        # "" with operator Exists tolerates every taint
    operator: str = "Equal"
    value: str = ""
    effect: str = ""     # "" tolerates every effect
    seconds: Optional[int] = None   # tolerationSeconds (NoExecute): how long the pod stays once tainted

    def tolerates(self, taint: Taint) -> bool:
        """k8s.io/api/core/v1 Toleration.ToleratesTaint."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


def tolerated(tolerations: Tuple[Toleration, ...], taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


@frozen
class NodeSelectorRequirement:
    """One matchExpressions entry of required node affinity: key In/NotIn/Exists/DoesNotExist values."""

    key: str
    operator: str
    values: Tuple[str, ...] = ()
    field: bool = False      # a matchFields requirement (key metadata.name), not matchExpressions

    def matches(self, labels: Labels, name: str = "") -> bool:
        have = {"metadata.name": name} if self.field else dict(labels)
        if self.operator == "Exists":
            return self.key in have
        if self.operator == "DoesNotExist":
            return self.key not in have
        if self.operator == "In":
            return have.get(self.key) in self.values
        return have.get(self.key) not in self.values  # NotIn


@frozen
class AntiAffinityTerm:
    """A required pod (anti-)affinity term: (no) pod matching `selector` in the same `topology_key` domain.
    `selector` is a matchLabels tuple or a `LabelSelector`."""

    selector: object
    topology_key: str


@frozen
class TopologySpreadConstraint:
    """A `whenUnsatisfiable: DoNotSchedule` topology spread constraint: placing the pod must not make the
    number of pods matching `selector` in its `topology_key` domain exceed the smallest domain's by more
    than `max_skew`.  `honor_taints` is nodeTaintsPolicy: Honor (default Ignore: tainted nodes count as
    domains); nodeAffinityPolicy is always Honor, the default."""

    max_skew: int
    topology_key: str
    selector: object          # a matchLabels tuple or a LabelSelector
    min_domains: int = 1
    honor_taints: bool = False


def node_affinity_matches(terms, labels: Labels, name: str = "") -> bool:
    """requiredDuringScheduling nodeSelectorTerms: any term whose expressions and fields all match (none: all
    nodes); `name` is the Node's metadata.name, for matchFields."""
    return not terms or any(all(r.matches(labels, name) for r in term) for term in terms)


@frozen
class Container:
    name: str
    image: str


@frozen
class PodSpec:
    containers: Tuple[Container, ...] = ()
    requests: Resources = Resources(pods=1)
    node_name: str = ""
    scheduler_name: str = "default-scheduler"
    node_selector: Labels = ()
    tolerations: Tuple[Toleration, ...] = ()
    restart_policy: str = "Always"    # Always | OnFailure | Never (Job pods run to completion)
    node_affinity: Tuple[Tuple["NodeSelectorRequirement", ...], ...] = ()   # required nodeSelectorTerms (ORed)
    anti_affinity: Tuple["AntiAffinityTerm", ...] = ()                       # required pod anti-affinity
    topology_spread: Tuple["TopologySpreadConstraint", ...] = ()             # DoNotSchedule constraints
    service_account: str = "default"                                         # spec.serviceAccountName
    affinity: Tuple["AntiAffinityTerm", ...] = ()                            # required pod affinity
    host_ports: Tuple[Tuple[str, str, int], ...] = ()                         # (protocol, hostIP, hostPort)
    priority: int = 0                        # spec.priority, from priorityClassName at admission
    preempts: bool = True                    # preemptionPolicy PreemptLowerPriority (not Never)
    hostname: str = ""                       # spec.hostname (a StatefulSet's pod: its name)
    subdomain: str = ""                      # spec.subdomain (a StatefulSet's pod: its spec.serviceName)
    exit_codes: Tuple[int, ...] = ()         # how its containers may end (annotation kubecheck.io/exit-codes of a
                                             # Job's template, model/kinds/job.py); () the kubelet's default
    claims: Tuple[str, ...] = ()             # the PersistentVolumeClaims its volumes name, in its namespace (a
                                             # StatefulSet's pod: one per volumeClaimTemplate, model/components/
                                             # attachdetach.py)


@frozen
class PodTemplate:
    labels: Labels
    spec: PodSpec


@frozen(cache_hash=True)
class Pod:
    meta: ObjectMeta
    spec: PodSpec
    phase: str = "Pending"       # Pending | Running | Succeeded | Failed
    ready: bool = False
    reason: str = ""             # why it failed (kubelet admission: OutOfcpu, ...)
    ip: str = ""                 # status.podIP, from the network plugin when its sandbox was created
    nominated: str = ""          # status.nominatedNodeName: where its scheduler preempted pods for it
    exit_code: int = 0           # the exit code of the container that ended it (Failed), 0 otherwise
    disruption: str = ""         # the reason of its DisruptionTarget condition (DeletionByTaintManager, ...), if any
    # Ready for at least its owner's minReadySeconds (time abstracted: a step of its own, `time.min_ready_elapsed`,
    # model/components/deployment.py); read only where that owner has minReadySeconds > 0.
    ready_long: bool = False
    kind = "Pod"

    @property
    def active(self) -> bool:
        """controller.IsPodActive: not terminating, not Succeeded or Failed."""
        return not self.meta.deleting and self.phase not in ("Succeeded", "Failed")


@frozen(cache_hash=True)
class ReplicaSet:
    meta: ObjectMeta
    replicas: int
    selector: Labels
    template: PodTemplate
    # The annotations deployment.kubernetes.io/desired-replicas and max-replicas its Deployment controller
    # writes with each scale (-1: none, a ReplicaSet of no Deployment): a scaling event is told by them.
    desired_replicas: int = -1
    max_replicas: int = -1
    min_ready_seconds: int = 0        # copied from its Deployment's spec.minReadySeconds
    kind = "ReplicaSet"


@frozen(cache_hash=True)
class ReplicationController:
    """v1 ReplicationController, the guestbook-era ReplicaSet: the same fields, kept by the same controller code
    (model/components/replicaset.py); its selector is a map of labels (equality-based), which is a matchLabels
    tuple here, defaulted from the template's labels when absent."""

    meta: ObjectMeta
    replicas: int
    selector: Labels
    template: PodTemplate
    kind = "ReplicationController"


@frozen
class RollingUpdate:
    max_surge: str = "25%"
    max_unavailable: str = "25%"


@frozen(cache_hash=True)
class DaemonSet:
    meta: ObjectMeta
    selector: Labels
    template: PodTemplate
    kind = "DaemonSet"


@frozen
class StatefulSetStatus:
    """apps/v1 StatefulSetStatus, as far as the model keeps it: status.currentRevision and
    status.updateRevision, the names of the ControllerRevisions of the pods below and at or above the partition
    (written by the StatefulSet controller through the status subresource; "" until its first write)."""

    current_revision: str = ""
    update_revision: str = ""


@frozen(cache_hash=True)
class StatefulSet:
    """apps/v1 StatefulSet: spec.replicas pods of its template, each with a stable identity, the name
    `<set>-<ordinal>` (model/components/statefulset.py).  `service_name` is spec.serviceName (the pods'
    subdomain); `pod_management` is spec.podManagementPolicy, OrderedReady (the default) or Parallel."""

    meta: ObjectMeta
    replicas: int
    selector: Labels
    template: PodTemplate
    service_name: str = ""
    pod_management: str = "OrderedReady"
    update_strategy: str = "RollingUpdate"      # spec.updateStrategy.type: RollingUpdate | OnDelete
    partition: Optional[int] = 0                # spec.updateStrategy.rollingUpdate.partition (None: no rollingUpdate)
    status: StatefulSetStatus = StatefulSetStatus()
    claim_templates: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()   # spec.volumeClaimTemplates: (name, accessModes)
    kind = "StatefulSet"


@frozen(cache_hash=True)
class HorizontalPodAutoscaler:
    """autoscaling/v2 HorizontalPodAutoscaler (model/components/podautoscaler.py): the replicas of its scale
    target (`target_kind`/`target_name`, in its namespace) kept within min_replicas..max_replicas, from a metric
    whose level the scenario's `load` changes set.  Its status is not written: nothing reads it."""

    meta: ObjectMeta
    target_kind: str
    target_name: str
    min_replicas: int
    max_replicas: int
    kind = "HorizontalPodAutoscaler"


@frozen
class DeploymentStatus:
    """apps/v1 DeploymentStatus, as the Deployment controller writes it through the status subresource.

    observed_generation is the metadata.generation of the spec the counts were computed for; a reader
    that does not compare the two may take the previous rollout's counts for the current one's."""

    observed_generation: int = 0
    replicas: int = 0              # pods of all its ReplicaSets that are not terminating
    updated_replicas: int = 0      # those of the ReplicaSet of the current template
    available_replicas: int = 0    # those Ready (for minReadySeconds, where it is set)
    # The Progressing condition is False with reason ProgressDeadlineExceeded (DeploymentTimedOut).
    timed_out: bool = False


@frozen(cache_hash=True)
class Deployment:
    meta: ObjectMeta
    replicas: int
    selector: Labels
    template: PodTemplate
    strategy: str = "RollingUpdate"   # RollingUpdate | Recreate
    rolling: RollingUpdate = RollingUpdate()
    status: DeploymentStatus = DeploymentStatus()
    paused: bool = False
    min_ready_seconds: int = 0
    progress_deadline_seconds: int = 600          # 2147483647 (MaxInt32): no deadline (HasProgressDeadline)
    revision_history_limit: int = 10
    # Whether the last manifest applied (its kubectl.kubernetes.io/last-applied-configuration) set spec.replicas:
    # `kubectl apply`'s three-way merge removes a field the new manifest drops only if the last one had it.
    applied_replicas: bool = True
    kind = "Deployment"


@frozen(cache_hash=True)
class Job:
    """batch/v1 Job: run pods to `completions` successes, `parallelism` at a time, up to `backoff_limit` failures."""

    meta: ObjectMeta
    template: PodTemplate
    completions: int = 1
    parallelism: int = 1
    backoff_limit: int = 6
    succeeded: int = 0           # status.succeeded
    failed: int = 0              # status.failed
    condition: str = ""          # "" | Complete | Failed
    suspend: bool = False        # spec.suspend
    active_deadline: Optional[int] = None    # spec.activeDeadlineSeconds (its passing is a step, not a clock)
    pod_failure_policy: Tuple["PodFailurePolicyRule", ...] = ()   # spec.podFailurePolicy.rules
    failure_target: str = ""     # the reason of the interim FailureTarget condition, once the Job is to fail
    reason: str = ""             # the reason of its Failed condition (BackoffLimitExceeded, PodFailurePolicy, ...)
    message: str = ""            # the message of its FailureTarget and Failed conditions
    kind = "Job"


@frozen
class PodFailurePolicyRule:
    """One rule of a Job's spec.podFailurePolicy (pkg/controller/job/pod_failure_policy.go): `action` (FailJob,
    Ignore or Count) for a failed pod whose container (named `container`, or any) exited with a non-zero code
    `operator` (In or NotIn) `values`, or, with `conditions`, that has one of these (type, status) pod conditions."""

    action: str
    operator: str = ""
    values: Tuple[int, ...] = ()
    container: str = ""
    conditions: Tuple[Tuple[str, str], ...] = ()


@frozen
class CronJobStatus:
    """batch/v1 CronJobStatus, as the CronJob controller writes it through the status subresource: `active`,
    the names of the Jobs it started that have not finished (its references' uids are left out: a CronJob's
    Jobs are named for their scheduled time, unique while they exist), and `last_schedule`, the scheduled
    time of the last Job it started (status.lastScheduleTime), as the index of that tick (0: none yet)."""

    active: Tuple[str, ...] = ()
    last_schedule: int = 0


@frozen(cache_hash=True)
class CronJob:
    """batch/v1 CronJob: a Job from its jobTemplate at each scheduled time (model/components/cronjob.py).
    Time is abstract: `ticks` scheduled times come, one after the other (the annotation
    `kubecheck.io/ticks`); `job` is the jobTemplate as a Job without metadata of its own (its labels are
    the jobTemplate's).  `starting_deadline` is spec.startingDeadlineSeconds (None: unset), whose only
    effect here is that a scheduled time may be missed."""

    meta: ObjectMeta
    job: Job
    schedule: str = ""
    concurrency_policy: str = "Allow"         # Allow | Forbid | Replace
    starting_deadline: Optional[int] = None
    successful_limit: int = 3                 # spec.successfulJobsHistoryLimit
    failed_limit: int = 1                     # spec.failedJobsHistoryLimit
    suspend: bool = False
    ticks: int = 2
    status: CronJobStatus = CronJobStatus()
    kind = "CronJob"


@frozen(cache_hash=True)
class Node:
    meta: ObjectMeta
    allocatable: Resources
    taints: Tuple[Taint, ...] = ()
    unschedulable: bool = False
    ready: str = "True"           # the Ready condition: True | False | Unknown
    kind = "Node"


@frozen(cache_hash=True)
class Lease:
    """A coordination.k8s.io Lease used for leader election: who holds it.

    renewTime is abstracted away: whether the holder's renewals are older
    than leaseDuration is `ClusterState.expired_leases`, a fact of time, not
    a write.
    """

    meta: ObjectMeta
    holder: str = ""
    kind = "Lease"


@frozen
class DisruptionBudgetStatus:
    """policy/v1 PodDisruptionBudgetStatus, as the disruption controller computes it (updatePdbStatus) and the
    Eviction subresource decrements it (checkAndDecrement).  DisruptedPods is abstracted (model/components/
    disruption.py)."""

    observed_generation: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0
    disruptions_allowed: int = 0


@frozen(cache_hash=True)
class PodDisruptionBudget:
    """policy/v1 PodDisruptionBudget: how many of the pods `selector` picks in its namespace must stay healthy
    through voluntary disruptions (evictions).  `min_available` / `max_unavailable` hold an IntOrString as
    written ("2" or "50%"; "" when unset); `selector` is None when the manifest has none (it selects nothing)."""

    meta: ObjectMeta
    selector: object = None
    min_available: str = ""
    max_unavailable: str = ""
    unhealthy_pod_eviction_policy: str = "IfHealthyBudget"    # IfHealthyBudget | AlwaysAllow
    status: DisruptionBudgetStatus = DisruptionBudgetStatus()
    kind = "PodDisruptionBudget"


@frozen(cache_hash=True)
class Service:
    """v1 Service with a selector: a stable virtual IP (spec.clusterIP) in front of the pods it selects.

    Ports are abstracted (one port, the same on pod and Service).  `type` is ClusterIP or LoadBalancer
    (NodePort is folded into LoadBalancer's node backends)."""

    meta: ObjectMeta
    selector: Labels
    cluster_ip: str = ""
    type: str = "ClusterIP"
    publish_not_ready: bool = False    # spec.publishNotReadyAddresses
    kind = "Service"

    @property
    def headless(self) -> bool:
        """spec.clusterIP None: no virtual IP; DNS answers its name with its ready endpoints' addresses."""
        return self.cluster_ip == "None"


@frozen
class Endpoint:
    """One endpoint of an EndpointSlice: a pod's IP, the pod (targetRef, by uid) and its node, and the
    conditions podToEndpoint computes (ready = serving and not terminating, unless publishNotReady)."""

    pod_uid: int
    ip: str
    node: str
    ready: bool
    serving: bool
    terminating: bool
    hostname: str = ""       # the pod's spec.hostname, where its spec.subdomain names this Service (ShouldSetHostname)


@frozen(cache_hash=True)
class EndpointSlice:
    """discovery.k8s.io/v1 EndpointSlice of one Service (label kubernetes.io/service-name), endpoints
    sorted by pod uid.  The model keeps every endpoint of a Service in one slice (the controller's
    limit is 100 per slice)."""

    meta: ObjectMeta
    service: str
    endpoints: Tuple[Endpoint, ...] = ()
    kind = "EndpointSlice"


@frozen(cache_hash=True)
class CustomResourceDefinition:
    """apiextensions.k8s.io/v1 CRD: makes the apiserver store and serve objects of a new kind."""

    meta: ObjectMeta
    group: str
    kind_name: str            # spec.names.kind
    plural: str
    scope: str = "Namespaced"
    versions: Tuple[str, ...] = ("v1",)
    status_subresource: bool = False   # spec.versions[].subresources.status
    kind = "CustomResourceDefinition"


@frozen
class CustomStatus:
    """The status of a custom object, as an operator built on controller-runtime reports it."""

    observed_generation: int = 0


@frozen(cache_hash=True)
class CustomObject:
    """An object of a kind a CustomResourceDefinition defines; its spec is kept as the user wrote it
    (a sorted tuple of (path, value) pairs), since no modelled controller reads it."""

    meta: ObjectMeta
    api_version: str
    custom_kind: str
    spec: Tuple[Tuple[str, str], ...] = ()
    status: CustomStatus = CustomStatus()
    kind = "CustomObject"


@frozen(cache_hash=True)
class PersistentVolumeClaim:
    """v1 PersistentVolumeClaim (model/kinds/persistentvolumeclaim.py): a claim taken as bound at once to a
    volume of its own, network-attached ReadWriteOnce storage named by the claim (model/components/
    attachdetach.py)."""

    meta: ObjectMeta
    access_modes: Tuple[str, ...] = ("ReadWriteOnce",)
    kind = "PersistentVolumeClaim"


@frozen(cache_hash=True)
class ServiceAccount:
    meta: ObjectMeta
    kind = "ServiceAccount"


@frozen
class Namespace:
    meta: ObjectMeta
    kind = "Namespace"


@frozen
class LabelSelector:
    """A metav1.LabelSelector with matchExpressions: every matchLabels pair and every requirement must hold
    (In, NotIn, Exists, DoesNotExist, as labels.Selector.Matches).  A selector of matchLabels alone is kept as
    its sorted tuple of pairs instead (the common, fast case); `labels_match` reads both."""

    match_labels: Labels = ()
    expressions: Tuple["NodeSelectorRequirement", ...] = ()

    def matches(self, labels: Labels) -> bool:
        return all(p in labels for p in self.match_labels) and all(e.matches(labels) for e in self.expressions)

    def with_label(self, key: str, value: str) -> "LabelSelector":
        return LabelSelector(tuple(sorted(self.match_labels + ((key, value),))), self.expressions)


def labels_match(selector, labels: Labels) -> bool:
    """A selector matches when every matchLabels pair is among the labels (an empty one matches all) and,
    for a `LabelSelector`, every expression holds."""
    if not selector:
        return True
    if selector.__class__ is LabelSelector:
        return selector.matches(labels)
    for pair in selector:  # both are short sorted tuples of (key, value): a tuple scan beats a dict
        if pair not in labels:
            return False
    return True


_FIELDS: dict = {}


def evolve(obj, **changes):
    """attrs.evolve for the model's frozen classes, without its per-call field introspection (hot path):
    every field read at once by one attrgetter, the changed ones replaced by position."""
    cls = obj.__class__
    fields = _FIELDS.get(cls)
    if fields is None:
        names = tuple(a.name for a in attrs.fields(cls))
        getter = operator.attrgetter(*names) if len(names) > 1 else (lambda o, n=names[0]: (getattr(o, n),))
        fields = _FIELDS[cls] = (getter, {n: i for i, n in enumerate(names)})
    getter, index = fields
    values = list(getter(obj))
    for name, value in changes.items():
        values[index[name]] = value
    return cls(*values)
