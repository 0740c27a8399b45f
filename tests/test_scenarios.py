"""The built-in suite: pinned state counts, verdicts and counterexamples."""

import json
import os
import subprocess
import sys

import pytest

from explorer import check, render_label
from kubecheck.compose import compose
from kubecheck.traces import read_trace, replay, to_itf
from model.scenario import load_scenario

from conftest import ROOT, SCENARIOS

# scenario -> (distinct states, transitions, {property: verdict})
SAFE3 = {"node-capacity": "holds", "taints-respected": "holds", "scheduler-binds-fit": "holds"}
LEADER = {"deployment-converges": "holds", "node-capacity": "holds", "taints-respected": "holds",
          "pod-single-node": "holds", "replicas-bounded": "holds"}
RS = {"node-capacity": "holds", "pod-single-node": "holds"}
NET = {"node-capacity": "holds", "pod-single-node": "holds", "pod-ip-unique": "holds", "taints-respected": "holds",
       "replicas-bounded": "holds", "deployment-converges": "holds", "endpoints-converge": "holds",
       "service-routing-converges": "holds", "dns-converges": "holds"}
# Scenarios whose state space is infinite, explored to the scenario's maxDepth.
BOUNDED = {"rs-stale-cache-no-expectations": "max-depth",
           # Too large to exhaust: explored to its maxStates (its planted violation is for --strategy random).
           "large-cluster": "max-states",
           "job-restart-lagging": "max-depth",
           "cronjob-forbid-stale-cache": "max-depth"}
ROLL = {"deployment-converges": "holds", "node-capacity": "holds", "taints-respected": "holds",
        "pod-single-node": "holds", "replicas-bounded": "holds", "rollout-within-surge": "violated",
        "rollout-availability": "holds"}
GC = {"deployment-converges": "holds", "garbage-collected": "holds", "node-capacity": "holds",
      "taints-respected": "holds", "pod-single-node": "holds", "replicas-bounded": "holds"}
JOB = {"node-capacity": "holds", "taints-respected": "holds", "pod-single-node": "holds"}
SCHED = {"node-capacity": "holds", "taints-respected": "holds", "pod-single-node": "holds",
         "replicas-bounded": "holds", "no-time-travel": "holds"}
PINNED = {
    # Kubernetes issue 90794: an eviction scheduled for the unreachable taint, with dedicated=web:NoExecute (tolerated
    # for ever) left when the Node comes back: cancelled since PR 93722, fired before it.
    "taint-eviction-tolerated-cancelled": (78, 126, {"taint-eviction-justified": "holds", "pod-single-node": "holds"}),
    "taint-eviction-stale-schedule": (78, 126, {"taint-eviction-justified": "violated", "pod-single-node": "holds"}),
    # DefaultPreemption: the placeholder of lower priority is preempted for web; without its PriorityClass it
    # holds the room for ever where it binds first.
    "preemption-placeholder": (16, 20, {"node-capacity": "holds", "taints-respected": "holds",
                                        "pod-single-node": "holds", "replicas-bounded": "holds",
                                        "preemption-justified": "holds", "deployment-converges": "holds"}),
    "preemption-placeholder-same-priority": (11, 14, {"node-capacity": "holds", "taints-respected": "holds",
                                                      "pod-single-node": "holds", "replicas-bounded": "holds",
                                                      "deployment-converges": "violated"}),
    # DaemonSet pods count in the capacity questions (model/workloads.py): with no room left for them beside the
    # web pods after a crash, the diagnosis is a capacity shortfall (it once blamed the greedy order).
    "daemonset-leaves-no-room": (24140, 74817, {"deployment-converges": "violated", "daemonset-converges": "violated",
                                                "node-capacity": "holds"}),
    "daemonset-leaves-room": (29260, 93185, {"deployment-converges": "holds", "daemonset-converges": "holds",
                                             "node-capacity": "holds"}),
    "service-no-proxy": (2622, 7277, dict(NET, **{"service-routing-converges": "violated"})),
    "service-proxy-replaced": (3708, 11202, NET),
    "dns-service": (11964, 39373, NET),
    "dns-unschedulable": (154, 308, dict(NET, **{"deployment-converges": "violated", "dns-converges": "violated"})),
    "custom-resource": (3, 2, {}),
    "endpointslice-tracker": (20, 25, {"endpointslices-not-duplicated": "holds", "endpoints-converge": "holds"}),
    "endpointslice-no-tracker": (53, 74, {"endpointslices-not-duplicated": "violated", "endpoints-converge": "holds"}),
    "operator-status-subresource": (5, 5, {}),
    "operator-no-status-subresource": (5, 7, {}),
    "rollout-status-observed-generation": (950, 2209, dict(ROLL, **{"rollout-within-surge": "holds",
                                                                    "rollout-status-current": "holds",
                                                                    "rollout-status-returns": "holds"})),
    "rollout-status-ignores-generation": (2792, 7366, dict(ROLL, **{"rollout-within-surge": "violated",
                                                                   "rollout-status-current": "violated",
                                                                   "rollout-status-returns": "holds"})),
    # Deployment completed (issue 15 item 6): paused, minReadySeconds, progressDeadlineSeconds, revisionHistoryLimit.
    "deployment-paused": (472, 1017, dict(ROLL, **{"rollout-within-surge": "holds", "deployment-converges": "violated"})),
    "deployment-paused-resumed": (1682, 4397, ROLL),
    "deployment-revision-history": (83, 127, dict(ROLL, **{"rollout-within-surge": "holds"})),
    "rolling-update-min-ready": (117, 186, dict(ROLL, **{"rollout-within-surge": "holds"})),
    "rollout-deadline-exceeded": (158, 287, dict(ROLL, **{"rollout-within-surge": "holds", "deployment-converges": "violated",
                                                          "rollout-status-current": "holds",
                                                          "rollout-status-returns": "holds"})),
    "rollout-deadline-none": (148, 277, dict(ROLL, **{"rollout-within-surge": "holds", "deployment-converges": "violated",
                                                      "rollout-status-current": "holds",
                                                      "rollout-status-returns": "violated"})),
    # HorizontalPodAutoscaler (issue 15 item 4) against kubectl apply.
    "hpa-apply-replicas": (289, 644, dict(ROLL, **{"rollout-within-surge": "holds", "hpa-within-bounds": "violated"})),
    "hpa-apply-removes-replicas": (289, 644, dict(ROLL, **{"rollout-within-surge": "holds",
                                                           "hpa-within-bounds": "violated"})),
    "hpa-apply-without-replicas": (77, 151, dict(ROLL, **{"rollout-within-surge": "holds", "hpa-within-bounds": "holds"})),
    "informer-relist-cache": (3896, 8945, {"no-time-travel": "violated", "replicas-bounded": "violated",
                                           "pod-single-node": "holds", "stable-reconciliation": "holds"}),
    "informer-relist-last-synced": (222, 468, {"no-time-travel": "holds", "replicas-bounded": "holds",
                                               "pod-single-node": "holds", "stable-reconciliation": "holds"}),
    "cluster-addons": (30, 41, {"node-capacity": "holds", "pod-single-node": "holds", "taints-respected": "holds",
                                "replicas-bounded": "holds", "deployment-converges": "holds",
                                "pods-rescheduled-after-node-failure": "holds", "daemonset-converges": "holds"}),
    "cloud-load-balancer": (3124, 10642, dict({k: v for k, v in NET.items() if k != "dns-converges"},
                                              **{"pods-rescheduled-after-node-failure": "holds",
                                                 "routes-converge": "holds", "cloud-load-balancer-converges": "holds"})),
    "serviceaccount-new-namespace": (29, 40, {"node-capacity": "holds", "pod-single-node": "holds",
                                              "taints-respected": "holds", "replicas-bounded": "holds",
                                              "deployment-converges": "holds", "default-serviceaccount": "holds"}),
    "static-pods-single-control-plane": (20, 26, {
        "node-capacity": "holds", "pod-single-node": "holds", "control-plane-available": "violated",
        "taints-respected": "holds", "replicas-bounded": "holds", "workloads-survive-control-plane-outage": "holds",
        "deployment-converges": "violated", "pods-rescheduled-after-node-failure": "violated"}),
    "static-pods-three-control-planes": (485, 1178, {
        "node-capacity": "holds", "pod-single-node": "holds", "etcd-no-lost-writes": "holds",
        "control-plane-available": "holds", "taints-respected": "holds", "replicas-bounded": "holds",
        "workloads-survive-control-plane-outage": "holds", "deployment-converges": "holds",
        "pods-rescheduled-after-node-failure": "holds"}),
    "self-hosted-lone-apiserver": (3, 2, {"control-plane-available": "violated",
                                          "workloads-survive-control-plane-outage": "holds"}),
    "self-hosted-static-beside": (8, 8, {"control-plane-available": "holds",
                                         "workloads-survive-control-plane-outage": "holds"}),
    # Cluster-tool presets (model/presets.py), one zone outage: kubeadm's single control-plane node loses it all;
    # the HA layouts (three stacked members, one per zone) keep it, and agree with one another.
    "preset-kubeadm": (54, 83, {"node-capacity": "holds", "pod-single-node": "holds", "taints-respected": "holds",
                                "replicas-bounded": "holds", "control-plane-available": "violated",
                                "workloads-survive-control-plane-outage": "holds", "deployment-converges": "violated"}),
    **{name: (16807, 67152, dict({"node-capacity": "holds", "pod-single-node": "holds", "taints-respected": "holds",
                                  "replicas-bounded": "holds", "single-leader": "holds", "etcd-no-lost-writes": "holds",
                                  "control-plane-available": "holds", "workloads-survive-control-plane-outage": "holds",
                                  "deployment-converges": "holds"}, **extra))
       for name, extra in (("preset-kubeadm-ha", {}), ("preset-kops-aws", {"routes-converge": "holds"}),
                           ("preset-kubespray-default", {}))},
    "anti-affinity-spread": (1295, 3850, {"deployment-converges": "violated", "node-capacity": "holds",
                                         "taints-respected": "holds", "pod-single-node": "holds",
                                         "replicas-bounded": "holds"}),
    "topology-spread-zone-down": (1295, 3850, {"deployment-converges": "violated", "node-capacity": "holds",
                                              "taints-respected": "holds", "pod-single-node": "holds",
                                              "replicas-bounded": "holds"}),
    "topology-spread-honor-taints": (1439, 4210, {"deployment-converges": "holds", "node-capacity": "holds",
                                                 "taints-respected": "holds", "pod-single-node": "holds",
                                                 "replicas-bounded": "holds"}),
    "large-cluster": (5000, 8703, {"deployment-converges": "unknown", "job-completes": "unknown", "job-succeeds": "unknown",
                                     "job-completions-not-exceeded": "holds", "node-capacity": "holds",
                                     "taints-respected": "holds", "pod-single-node": "holds",
                                     "replicas-bounded": "holds"}),
    "scheduler-assume": (131, 186, dict(SCHED, **{"scheduler-binds-fit": "holds"})),
    "scheduler-no-assume": (181, 260, dict(SCHED, **{"scheduler-binds-fit": "violated"})),
    "scheduler-failover": (15824, 34994, dict(SCHED, **{"scheduler-binds-fit": "violated", "single-leader": "holds"})),
    "node-partition-eviction": (1144, 2178, {"deployment-converges": "holds", "node-capacity": "holds",
                                             "taints-respected": "holds", "pod-single-node": "holds",
                                             "replicas-bounded": "holds", "pods-rescheduled-after-node-failure": "holds"}),
    "full-disruption": (96, 151, {"deployment-converges": "violated", "node-capacity": "holds",
                                  "taints-respected": "holds", "pod-single-node": "holds", "replicas-bounded": "holds",
                                  "pods-rescheduled-after-node-failure": "violated", "control-plane-available": "holds",
                                  "workloads-survive-control-plane-outage": "holds"}),
    "zone-partial-disruption": (1715, 4440, {"deployment-converges": "violated", "node-capacity": "holds",
                                             "taints-respected": "holds", "pod-single-node": "holds",
                                             "replicas-bounded": "holds",
                                             "pods-rescheduled-after-node-failure": "violated"}),
    "zone-partial-threshold": (1451, 4296, {"deployment-converges": "holds", "node-capacity": "holds",
                                            "taints-respected": "holds", "pod-single-node": "holds",
                                            "replicas-bounded": "holds", "pods-rescheduled-after-node-failure": "holds"}),
    "logging-daemonset": (1582, 4017, {"node-capacity": "holds", "taints-respected": "holds",
                                       "pod-single-node": "holds", "daemonset-converges": "holds"}),
    "daemonset-no-room": (22, 35, {"node-capacity": "holds", "taints-respected": "holds",
                                   "pod-single-node": "holds", "daemonset-converges": "violated"}),
    "vm-deleted-cloud": (754, 1926, {"deployment-converges": "holds", "node-capacity": "holds", "taints-respected": "holds",
                                   "pod-single-node": "holds", "replicas-bounded": "holds", "routes-converge": "holds",
                                   "pods-rescheduled-after-node-failure": "holds"}),
    "vm-deleted-on-prem": (406, 984, {"deployment-converges": "holds", "node-capacity": "holds", "taints-respected": "holds",
                                   "pod-single-node": "holds", "replicas-bounded": "holds",
                                   "pods-rescheduled-after-node-failure": "holds"}),
    "nodename-noexecute-loop": (3, 3, {"deployment-converges": "violated", "node-capacity": "holds",
                                       "taints-respected": "holds", "pod-single-node": "holds",
                                       "replicas-bounded": "holds"}),
    # Its pods succeed (kubecheck.io/exit-codes "0") and the search stops at depth 18, where the third success is
    # first found: 57,268 states (it was 298,400 at depth 19 with pods that may fail, 72 s of the suite).
    "job-restart-lagging": (57268, 108846, {"node-capacity": "holds", "taints-respected": "holds",
                                            "pod-single-node": "holds", "scheduler-binds-fit": "holds",
                                            "single-leader": "holds", "no-time-travel": "holds",
                                            "job-completions-not-exceeded": "violated", "job-completes": "unknown",
                                            "job-succeeds": "unknown"}),
    "greedy-scheduling": (882, 1913, {"deployment-converges": "violated", "node-capacity": "holds",
                                      "taints-respected": "holds", "pod-single-node": "holds",
                                      "replicas-bounded": "holds"}),
    # A pod deleted before it succeeded is failed, counted and released from its finalizer (isPodFailed).
    "job-node-crash": (134, 218, dict(JOB, **{"job-completes": "holds", "job-completions-not-exceeded": "holds",
                                              "job-succeeds": "holds"})),
    # A failing Job first records FailureTarget, deletes its active pods keeping their finalizers, counts them, then
    # is Failed; the kubelet reports a stopped Job pod Failed (435 -> 614, 493 -> 618).
    "job-tracking-finalizers": (614, 1892, dict(JOB, **{"job-completes": "holds", "job-succeeds": "violated",
                                                        "job-completions-not-exceeded": "holds"})),
    "job-legacy-tracking": (618, 1738, dict(JOB, **{"job-completes": "violated", "job-succeeds": "violated",
                                                    "job-completions-not-exceeded": "violated"})),
    # Job controller (model/components/job.py): syncOrphanPod, suspend, podFailurePolicy, activeDeadlineSeconds.
    "job-delete": (28, 52, dict(JOB, **{"job-completions-not-exceeded": "holds", "job-completes": "holds", "job-succeeds": "holds",
                                        "garbage-collected": "holds"})),
    "job-suspend": (47, 87, dict(JOB, **{"job-completions-not-exceeded": "holds", "job-completes": "holds", "job-succeeds": "holds"})),
    "job-pod-failure-policy": (103, 232, dict(JOB, **{"job-completions-not-exceeded": "holds", "job-completes": "holds", "job-succeeds": "violated"})),
    "job-deadline": (31, 47, dict(JOB, **{"job-completions-not-exceeded": "holds", "job-completes": "holds", "job-succeeds": "violated"})),
    # CronJob: Forbid never runs two Jobs at once; Replace deletes the old Job in the background, so its pod runs
    # beside the new one's; Forbid from a cache two writes behind creates a second Job (searched to depth 18).
    "cronjob-forbid": (58, 88, dict(JOB, **{"job-completes": "holds", "job-succeeds": "holds",
                                            "job-completions-not-exceeded": "holds",
                                            "cronjob-concurrency-respected": "holds"})),
    # (the Job controller's own release_orphan, composed with it, frees the replaced Job's pod)
    "cronjob-replace": (256, 685, dict(JOB, **{"job-completes": "holds", "job-succeeds": "holds",
                                               "job-completions-not-exceeded": "holds",
                                               "cronjob-concurrency-respected": "violated",
                                               "garbage-collected": "holds"})),
    "cronjob-forbid-stale-cache": (1177, 1657, dict(JOB, **{"job-completes": "unknown", "job-succeeds": "unknown",
                                                            "job-completions-not-exceeded": "holds",
                                                            "cronjob-concurrency-respected": "violated",
                                                            "scheduler-binds-fit": "holds", "no-time-travel": "holds"})),
    "two-schedulers": (2049, 2932, {"deployment-converges": "holds", "scheduler-binds-fit": "violated", "node-capacity": "holds", "taints-respected": "holds",
                                    "pod-single-node": "holds", "replicas-bounded": "holds", "no-time-travel": "holds"}),
    "delete-deployment-background": (58, 141, GC),
    "delete-deployment-orphan": (55, 114, GC),
    "delete-deployment-foreground": (89, 249, GC),
    "rolling-update": (29235, 88087, ROLL),
    "rolling-update-node-crash": (245181, 945871, ROLL),
    "rs-stale-cache-expectations": (86, 113, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "holds",
                                                          "scheduler-binds-fit": "holds",
                                                          "no-time-travel": "holds"})),
    "rs-stale-cache-no-expectations": (6834, 11408, dict(RS, **{"replicas-bounded": "violated"})),
    "rs-create-timeout": (10390, 22073, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "violated",
                                                    "scheduler-binds-fit": "holds",
                                                    "no-time-travel": "holds"})),
    "rs-expectations-expire": (10368, 22047, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "violated",
                                                         "scheduler-binds-fit": "holds",
                                                         "no-time-travel": "holds"})),
    "rs-workqueue-per-key": (4, 3, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "holds"})),
    "rs-workqueue-shared-key": (24, 43, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "violated"})),
    "rs-adopts-orphan": (15, 22, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "holds"})),
    "zone-outage-stacked": (186, 439, dict(LEADER, **{"deployment-converges": "violated", "etcd-no-lost-writes": "holds",
                                                   "control-plane-available": "violated",
                                                   "workloads-survive-control-plane-outage": "holds"})),
    "partitioned-node": (2480, 6932, {"pod-single-node": "holds", "node-capacity": "holds", "replicas-bounded": "holds"}),
    "leader-paused": (84, 180, dict(LEADER, **{"single-leader": "violated"})),
    "leader-crash": (74, 150, dict(LEADER, **{"single-leader": "holds"})),
    "kubelet-relist-cache": (1504, 3761, dict(SAFE3, **{"pod-single-node": "violated", "no-time-travel": "violated"})),
    "kubelet-relist-consistent": (2192, 5330, dict(SAFE3, **{"pod-single-node": "holds", "no-time-travel": "holds"})),
    "force-delete-race": (1288, 3276, dict(SAFE3, **{"pod-single-node": "violated", "no-time-travel": "holds"})),
    "etcd-quorum-lost": (6605, 18360, {"deployment-converges": "violated", "node-capacity": "holds", "etcd-no-lost-writes": "holds",
                                     "taints-respected": "holds", "pod-single-node": "holds",
                                     "replicas-bounded": "holds", "control-plane-available": "violated",
                                     "workloads-survive-control-plane-outage": "holds"}),
    "web-three-nodes": (2807, 8890, {"deployment-converges": "holds", "node-capacity": "holds",
                                    "taints-respected": "holds", "pod-single-node": "holds",
                                    "replicas-bounded": "holds"}),
    "web-two-nodes-crash": (705, 1976, {"deployment-converges": "violated", "node-capacity": "holds",
                                       "taints-respected": "holds", "pod-single-node": "holds",
                                       "replicas-bounded": "holds"}),
    "tainted-only-room": (17, 22, {"deployment-converges": "violated", "node-capacity": "holds",
                                   "taints-respected": "holds", "pod-single-node": "holds",
                                   "replicas-bounded": "holds"}),
    # StatefulSets (model/components/statefulset.py): at most one pod per identity.
    "statefulset-ordered": (96, 154, {"statefulset-converges": "holds", "node-capacity": "holds",
                                      "taints-respected": "holds", "pod-single-node": "holds"}),
    "statefulset-node-crash": (98, 141, {"statefulset-converges": "violated", "node-capacity": "holds",
                                         "taints-respected": "holds", "pod-single-node": "holds",
                                         "node-status-converges": "holds"}),
    "statefulset-out-of-service": (285, 542, {"statefulset-converges": "holds", "node-capacity": "holds",
                                              "taints-respected": "holds", "pod-single-node": "holds",
                                              "node-status-converges": "holds", "control-plane-available": "holds",
                                              "workloads-survive-control-plane-outage": "holds"}),
    "statefulset-force-delete-partition": (348, 676, {"statefulset-converges": "violated", "node-capacity": "holds",
                                                      "taints-respected": "holds", "pod-single-node": "violated",
                                                      "node-status-converges": "holds"}),
    "statefulset-out-of-service-partition": (554, 1025, {"statefulset-converges": "violated",
                                                         "node-capacity": "holds", "taints-respected": "holds",
                                                         "pod-single-node": "violated",
                                                         "node-status-converges": "holds"}),
    # StatefulSet volumes (volumeClaimTemplates, the attach/detach controller, volume-single-attach).
    "statefulset-volume-node-crash": (97, 200, {
        "node-capacity": "holds", "pod-single-node": "holds", "volume-single-attach": "holds",
        "control-plane-available": "holds", "taints-respected": "holds",
        "workloads-survive-control-plane-outage": "holds", "node-status-converges": "holds",
        "stable-reconciliation": "violated", "statefulset-converges": "violated"}),
    "statefulset-volume-out-of-service": (99, 190, {
        "node-capacity": "holds", "pod-single-node": "holds", "volume-single-attach": "holds",
        "control-plane-available": "holds", "taints-respected": "holds",
        "workloads-survive-control-plane-outage": "holds", "node-status-converges": "holds",
        "stable-reconciliation": "holds", "statefulset-converges": "holds"}),
    "statefulset-volume-out-of-service-partition": (176, 350, {
        "node-capacity": "holds", "pod-single-node": "violated", "volume-single-attach": "violated",
        "taints-respected": "holds", "node-status-converges": "holds",
        "stable-reconciliation": "violated", "statefulset-converges": "violated"}),
    # StatefulSet rolling updates (revisions, partition, OrderedReady stuck on a broken pod: kubernetes 67250).
    "statefulset-rolling-partition": (645, 1056, {"statefulset-converges": "holds", "node-capacity": "holds",
                                                  "taints-respected": "holds", "pod-single-node": "holds"}),
    "statefulset-rollout-broken": (236, 473, {"statefulset-converges": "violated", "node-capacity": "holds",
                                              "taints-respected": "holds", "pod-single-node": "holds"}),
    "statefulset-rollout-broken-parallel": (1240, 3502, {"statefulset-converges": "holds", "node-capacity": "holds",
                                                         "taints-respected": "holds", "pod-single-node": "holds"}),
    # ReplicationControllers (the ReplicaSet controller's code) and headless Services (issue 15 item 5).
    "rc-node-crash-room": (155, 344, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "holds",
                                                 "pods-rescheduled-after-node-failure": "holds",
                                                 "node-status-converges": "holds", "stable-reconciliation": "holds"})),
    "rc-node-crash-no-room": (115, 248, dict(RS, **{"taints-respected": "holds", "replicas-bounded": "holds",
                                                    "pods-rescheduled-after-node-failure": "violated",
                                                    "node-status-converges": "holds",
                                                    "stable-reconciliation": "violated"})),
    "headless-statefulset-dns": (151, 222, dict(NET, **{"stable-reconciliation": "holds",
                                                        "statefulset-converges": "holds"})),
    "headless-servicename-mismatch": (151, 222, dict(NET, **{"stable-reconciliation": "holds",
                                                             "statefulset-converges": "holds",
                                                             "dns-converges": "violated"})),
    # PodDisruptionBudgets and kubectl drain (model/components/disruption.py, eviction.py, user.py).
    "drain-blocked-by-budget": (797, 2419, {"drain-completes": "violated", "disruption-budget-respected": "holds",
                                            "deployment-converges": "holds", "node-capacity": "holds",
                                            "taints-respected": "holds", "pod-single-node": "holds",
                                            "replicas-bounded": "holds"}),
    "drain-one-at-a-time": (555, 1628, {"drain-completes": "holds", "disruption-budget-respected": "holds",
                                        "deployment-converges": "holds", "node-capacity": "holds",
                                        "taints-respected": "holds", "pod-single-node": "holds",
                                        "replicas-bounded": "holds"}),
}


def run(name):
    """The scenario searched as composed (`reduction="none"`, no symmetry): the pinned counts are those of the
    model itself, so that a change of the model shows; tests/test_observers.py and tests/test_symmetry.py pin
    what the reductions make of them."""
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    return sc, comp, check(comp.system, max_depth=sc.max_depth, max_states=sc.max_states, reduction="none",
                           symmetry=False)


# pods-rescheduled-after-node-failure, where a fault stops a node under a Deployment or ReplicaSet.
RESCHEDULED = {'dns-service': 'holds', 'anti-affinity-spread': 'violated', 'etcd-quorum-lost': 'violated', 'large-cluster': 'unknown', 'topology-spread-honor-taints': 'holds', 'topology-spread-zone-down': 'violated', 'web-three-nodes': 'holds', 'web-two-nodes-crash': 'violated', 'zone-outage-stacked': 'violated', 'rolling-update-node-crash': 'holds',
               'zone-partial-disruption': 'violated', 'zone-partial-threshold': 'holds',
               'preset-kubeadm': 'violated', 'preset-kubeadm-ha': 'holds', 'preset-kops-aws': 'holds',
               'preset-kubespray-default': 'holds'}


# node-status-converges, where a fault stops a kubelet's heartbeats (and the scenario checks all properties).
NODE_STATUS = {'job-node-crash': 'holds', 'cluster-addons': 'holds', 'anti-affinity-spread': 'holds', 'cloud-load-balancer': 'holds', 'dns-service': 'holds',
               'etcd-quorum-lost': 'violated', 'full-disruption': 'holds', 'large-cluster': 'unknown',
               'logging-daemonset': 'holds', 'node-partition-eviction': 'holds', 'rolling-update-node-crash': 'holds',
               'self-hosted-lone-apiserver': 'violated', 'self-hosted-static-beside': 'holds',
               'static-pods-single-control-plane': 'violated', 'static-pods-three-control-planes': 'holds',
               'topology-spread-honor-taints': 'holds', 'topology-spread-zone-down': 'holds',
               'vm-deleted-cloud': 'holds', 'vm-deleted-on-prem': 'holds', 'web-three-nodes': 'holds',
               'web-two-nodes-crash': 'holds', 'zone-outage-stacked': 'violated',
               'zone-partial-disruption': 'holds', 'zone-partial-threshold': 'holds',
               'preset-kubeadm': 'violated', 'preset-kubeadm-ha': 'holds', 'preset-kops-aws': 'holds',
               'preset-kubespray-default': 'holds'}


# stable-reconciliation (Anvil's ESR), where a controller has objects to reconcile.
STABLE = {
    "anti-affinity-spread": "violated",
    "preemption-placeholder": "holds", "preemption-placeholder-same-priority": "violated",
    "job-node-crash": "holds",
    "job-delete": "holds", "job-suspend": "holds", "job-pod-failure-policy": "holds", "job-deadline": "holds",
    "greedy-scheduling": "violated", "large-cluster": "unknown",
    "scheduler-assume": "holds", "scheduler-no-assume": "holds", "scheduler-failover": "holds",
    "node-partition-eviction": "holds", "full-disruption": "violated",
    "zone-partial-disruption": "violated", "zone-partial-threshold": "holds",
    "logging-daemonset": "holds", "daemonset-no-room": "violated",
    "vm-deleted-cloud": "holds", "vm-deleted-on-prem": "holds", "nodename-noexecute-loop": "violated",
    "job-restart-lagging": "unknown",
    "topology-spread-zone-down": "violated", "topology-spread-honor-taints": "holds",
    "delete-deployment-background": "holds", "delete-deployment-foreground": "holds", "delete-deployment-orphan": "holds",
    "etcd-quorum-lost": "violated", "job-legacy-tracking": "violated", "job-tracking-finalizers": "holds",
    "leader-crash": "holds", "leader-paused": "holds", "rolling-update": "holds", "rolling-update-node-crash": "holds",
    "rs-adopts-orphan": "holds", "rs-create-timeout": "holds", "rs-expectations-expire": "holds", "rs-stale-cache-expectations": "holds", "tainted-only-room": "violated",
    "two-schedulers": "holds", "web-three-nodes": "holds", "web-two-nodes-crash": "violated",
    "zone-outage-stacked": "violated",
    "service-no-proxy": "holds", "service-proxy-replaced": "holds", "dns-service": "holds",
    "dns-unschedulable": "violated",
    "static-pods-single-control-plane": "violated", "static-pods-three-control-planes": "holds",
    "preset-kubeadm": "violated", "preset-kubeadm-ha": "holds", "preset-kops-aws": "holds",
    "preset-kubespray-default": "holds",
    "cloud-load-balancer": "holds", "serviceaccount-new-namespace": "holds", "cluster-addons": "holds",
    "rollout-status-observed-generation": "holds", "rollout-status-ignores-generation": "holds",
    "operator-status-subresource": "holds", "operator-no-status-subresource": "violated",
    "rs-workqueue-per-key": "holds", "rs-workqueue-shared-key": "holds",
    "statefulset-ordered": "holds", "statefulset-node-crash": "violated", "statefulset-out-of-service": "holds",
    "statefulset-force-delete-partition": "violated", "statefulset-out-of-service-partition": "violated",
    "statefulset-rolling-partition": "holds", "statefulset-rollout-broken": "violated",
    "statefulset-rollout-broken-parallel": "holds",
    "drain-blocked-by-budget": "holds", "drain-one-at-a-time": "holds",
    "cronjob-forbid": "holds", "cronjob-replace": "holds", "cronjob-forbid-stale-cache": "unknown",
    "deployment-paused": "violated", "deployment-paused-resumed": "holds", "deployment-revision-history": "holds",
    "rolling-update-min-ready": "holds", "rollout-deadline-exceeded": "violated", "rollout-deadline-none": "violated",
    "hpa-apply-replicas": "holds", "hpa-apply-removes-replicas": "holds", "hpa-apply-without-replicas": "holds",
}


def test_every_builtin_scenario_is_pinned():
    from test_ha import PINNED_HA
    names = sorted(f[:-5] for f in os.listdir(SCENARIOS) if f.endswith(".yaml"))
    assert names == sorted(set(PINNED) | set(PINNED_HA))


@pytest.mark.parametrize("name", sorted(PINNED))
def test_counts_and_verdicts(name):
    sc, comp, res = run(name)
    states, transitions, verdicts = PINNED[name]
    if name in BOUNDED:
        assert res.stats.stop_reason == BOUNDED[name]
        assert all(v.bounded == (v.verdict in ("holds", "unknown")) for v in res.verdicts)
    else:
        assert res.stats.complete, "a built-in scenario must be explored to the end"
        assert not any(v.bounded for v in res.verdicts)
    assert (res.stats.distinct_states, res.stats.transitions) == (states, transitions)
    assert {v.prop: v.verdict for v in res.verdicts} == pinned_verdicts(name, sc)


def pinned_verdicts(name, sc) -> dict:
    """The verdicts pinned for built-in scenario `name` (loaded as `sc`)."""
    verdicts = PINNED[name][2]
    if name in STABLE:
        verdicts = dict(verdicts, **{"stable-reconciliation": STABLE[name]})
    if name in RESCHEDULED:
        verdicts = dict(verdicts, **{"pods-rescheduled-after-node-failure": RESCHEDULED[name]})
    if name in NODE_STATUS and "all" in sc.properties:
        verdicts = dict(verdicts, **{"node-status-converges": NODE_STATUS[name]})
    from properties.safety import has_taint_eviction
    if "all" in sc.properties and has_taint_eviction(sc) is None and "taint-eviction-justified" not in verdicts:
        # Where taint eviction is composed, today's controller evicts only on taints the pod does not tolerate.
        verdicts = dict(verdicts, **{"taint-eviction-justified": "holds"})
    return verdicts


def test_node_crash_leaves_no_room():
    sc, comp, res = run("web-two-nodes-crash")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert any(l.startswith("environment.node_crash(") for l in labels)
    assert "stuck" in v.diagnosis and "wants 3 pods, 2 Running and Ready" in v.diagnosis
    last = v.trace.states[-1]
    assert sum(1 for h in last.hosts if h.up) == 1
    assert sum(len(h.pods) for h in last.hosts) == 2


def test_taint_keeps_pods_pending_and_is_respected():
    sc, comp, res = run("tainted-only-room")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert "unscheduled" in v.diagnosis
    last = v.trace.states[-1]
    assert [h.name for h in last.hosts if h.pods] == ["small"]
    # The reachability check beside the safety claim: some pod does reach Running.
    assert any(p.phase == "Running" for p in last.store.pods)


def test_three_nodes_survive_any_single_crash():
    """A pod does get replaced after a crash: the holds verdict is not vacuous."""
    sc, comp, res = run("web-three-nodes")
    g = res.search.graph
    crashed_and_converged = [
        s for s in g.states
        if s.faults_left == 0 and sum(1 for h in s.hosts if h.up) == 2
        and sum(len(h.pods) for h in s.hosts) == 3]
    assert crashed_and_converged


@pytest.mark.parametrize("name", ["web-two-nodes-crash", "tainted-only-room"])
def test_traces_replay(name, tmp_path):
    sc, comp, res = run(name)
    for v in res.verdicts:
        if v.trace is None:
            continue
        doc = to_itf(v.trace, scenario_name=sc.name, scenario_path=sc.path, scenario_text=sc.text,
                     prop=v.prop, verdict=v.verdict, diagnosis=v.diagnosis)
        path = tmp_path / "t.itf.json"
        path.write_text(json.dumps(doc))
        r = replay(read_trace(str(path)))
        assert r.ok, r.message


# A cross-section of the suite (every component, fault family and property kind), small enough
# to run three times.
DETERMINISM = ["web-two-nodes-crash", "tainted-only-room", "kubelet-relist-cache", "leader-paused",
               "rs-stale-cache-expectations", "etcd-quorum-lost", "zone-outage-stacked", "etcd-zones-aab",
               "drain-blocked-by-budget", "drain-one-at-a-time", "cronjob-replace", "cronjob-forbid-stale-cache",
               "job-pod-failure-policy", "hpa-apply-replicas", "headless-statefulset-dns"]


def test_same_results_under_any_hash_seed(tmp_path):
    outs = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--json", "-",
                            "--traces", str(tmp_path / seed)]
                           + [os.path.join(SCENARIOS, f"{n}.yaml") for n in DETERMINISM],
                           capture_output=True, text=True, env=env, cwd=ROOT)
        assert p.returncode == 0, p.stderr    # every verdict as its scenario expects
        data = json.loads(p.stdout)
        for rep in data:
            for r in rep["results"]:
                r.pop("seconds")
                if r["trace"]:
                    r["trace"] = os.path.relpath(r["trace"], str(tmp_path / seed))
            rep["stats"].pop("seconds")
            rep["stats"].pop("states_per_second")
        traces = {}
        for dirpath, _, files in os.walk(tmp_path / seed):
            for f in files:
                traces[os.path.relpath(os.path.join(dirpath, f), tmp_path / seed)] = open(os.path.join(dirpath, f)).read()
        outs.append((data, traces))
    assert outs[0] == outs[1] == outs[2]


def test_committed_traces_still_replay():
    """traces/ is design-review material: every committed trace must replay against today's model."""
    found = 0
    for dirpath, _, files in os.walk(os.path.join(ROOT, "traces")):
        for f in files:
            if f.endswith(".itf.json"):
                found += 1
                r = replay(read_trace(os.path.join(dirpath, f)))
                assert r.ok, f"{f}: {r.message}"
    assert found >= 2


def test_quorum_loss_stops_writes_but_not_workloads():
    sc, comp, res = run("etcd-quorum-lost")
    g = res.search.graph
    no_quorum_running = [s for s in g.states if not s.etcd_quorum() and any(h.pods for h in s.hosts)]
    assert no_quorum_running, "some state has pods running while etcd has no quorum"
    # Without a quorum every write fails: no component step changes etcd
    # (kubelets may still start the containers of pods already bound to them).
    no_quorum = [s for s in g.states if not s.etcd_quorum()]
    for s in no_quorum:
        for r in comp.system.rules:
            if r.fair:
                for lab, t in r.fn(s):
                    assert t.store == s.store, lab


def test_workloads_survive_catches_a_kubelet_that_gives_up():
    """A kubelet that stops its containers when it loses the apiserver breaks the property."""
    import attrs
    from explorer import Rule, label
    sc, comp, _ = run("etcd-quorum-lost")

    def give_up(s):
        if not s.etcd_quorum():
            for h in s.hosts:
                if h.up and h.pods:
                    yield label("kubelet", "give_up", (("node", h.name),)), s.with_host(attrs.evolve(h, pods=()))
    comp.system.rules = list(comp.system.rules) + [Rule("kubelet.give_up", give_up)]
    v = {x.prop: x for x in check(comp.system).verdicts}["workloads-survive-control-plane-outage"]
    assert v.verdict == "violated" and "while the control plane was unavailable" in v.diagnosis


def test_issue_59848_stale_relist_restarts_a_moved_pod():
    """With kubeletRelist: cache the restarted kubelet of n1 starts the old db-0 from a lagging cache."""
    sc, comp, res = run("kubelet-relist-cache")
    v = next(v for v in res.verdicts if v.prop == "pod-single-node")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    restart = next(i for i, l in enumerate(labels) if l.startswith("kubelet.restart(node=n1"))
    assert any(l.startswith("kubelet.run_pod(node=n1") for l in labels[restart:])
    # The consistent relist of the same scenario never lets n1 start the pod after its restart.
    sc, comp, res = run("kubelet-relist-consistent")
    g = res.search.graph
    assert any(s.host("n2").pods for s in g.states), "the new db-0 does run on n2"


def test_a_partitioned_node_keeps_its_containers():
    sc, comp, res = run("partitioned-node")
    cut_off_running = [s for s in res.search.graph.states for h in s.hosts if not h.reachable and h.pods]
    assert cut_off_running
    # ... and its kubelet does nothing while cut off.
    s = cut_off_running[0]
    cut = next(h.name for h in s.hosts if not h.reachable)
    steps = [render_label(l) for r in comp.system.rules for l, _ in r.fn(s)]
    assert not [l for l in steps if l.startswith("kubelet.") and f"node={cut}" in l]


def test_zone_outage_agrees_with_the_quorum_claim():
    """The explored model and the Z3 claim tell the same story about losing zone a."""
    from properties import get
    sc, comp, res = run("zone-outage-stacked")
    v = next(v for v in res.verdicts if v.prop == "control-plane-available")
    assert render_label(v.trace.labels[-1]) == "environment.zone_outage(zone=a)"
    claim = get("etcd-quorum-survives").build(sc).decide()
    assert not claim.holds and "zone-outage of zone a" in claim.diagnosis
    assert v.trace.states[-1].host("w-1").up


def test_time_travel_is_the_restart_onto_a_lagging_cache():
    sc, comp, res = run("kubelet-relist-cache")
    v = next(v for v in res.verdicts if v.prop == "no-time-travel")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert labels[-1].startswith("kubelet.") and "kubelet/n1 acted" in v.diagnosis
    assert any(l.startswith("kubelet.restart(node=n1") for l in labels)


def test_without_the_property_no_history_variable_is_kept():
    sc = load_scenario(os.path.join(SCENARIOS, "kubelet-relist-cache.yaml"))
    res = check(compose(sc, ["pod-single-node"]).system)
    assert res.stats.distinct_states == 956
    assert {v.prop: v.verdict for v in res.verdicts} == {"pod-single-node": "violated"}


def test_expectations_are_what_keeps_replicas_bounded():
    """Same ReplicaSet, same lagging cache: the shortest overcreation is three creates in a row."""
    sc, comp, res = run("rs-stale-cache-no-expectations")
    v = next(v for v in res.verdicts if v.prop == "replicas-bounded")
    assert [render_label(l) for l in v.trace.labels[1:]] == ["replicaset.create_pod(rs=default/web)"] * 3
    sc, comp, res = run("rs-stale-cache-expectations")
    # With expectations, no reachable state has more than spec.replicas active pods in etcd.
    assert max(sum(1 for p in s.store.pods if p.active) for s in res.search.graph.states) == 2


def test_two_workers_on_one_key_both_create():
    """Without the workqueue's one-worker-per-key, two workers begin a sync from the same current view and
    each creates; with it, no reachable state ever has two pods (and expectations play no part: maxStaleness 0)."""
    sc, comp, res = run("rs-workqueue-shared-key")
    v = next(v for v in res.verdicts if v.prop == "replicas-bounded")
    assert [render_label(l) for l in v.trace.labels[1:]] == (["replicaset.start_sync(rs=default/web)"] * 2
                                                               + ["replicaset.create_pod(rs=default/web)"] * 2)
    assert not v.trace.states[-1].syncs and len(v.trace.states[-1].store.pods) == 2
    sc, comp, res = run("rs-workqueue-per-key")
    assert max(len(s.store.pods) for s in res.search.graph.states) == 1
    assert not any(s.syncs for s in res.search.graph.states)


def test_a_crashed_replica_loses_its_workers_syncs():
    from model.components import environment
    from model.objects import evolve
    from model.scenario import parse_scenario
    text = open(os.path.join(SCENARIOS, "rs-workqueue-shared-key.yaml")).read().replace(
        "behaviour: {workqueuePerKey: false}",
        "behaviour: {workqueuePerKey: false}\n  controlPlane: {controllerManagers: 2}\n"
        "  faults: {budget: 1, kinds: [controller-crash]}")
    init = compose(parse_scenario(text)).system.init_states[0]
    s = evolve(init, syncs=(("kube-controller-manager-1", "default/web"), ("kube-controller-manager-2", "default/web")))
    after = {render_label(l): t for l, t in environment.controller_crash(s)}
    assert after["environment.controller_crash(process=kube-controller-manager-1)"].syncs == (
        ("kube-controller-manager-2", "default/web"),)


def test_orphan_is_adopted_and_one_pod_fewer_is_created():
    sc, comp, res = run("rs-adopts-orphan")
    states = res.search.graph.states
    assert max(len(s.store.pods) for s in states) == 2
    final = [s for s in states if all(p.phase == "Running" for p in s.store.pods) and len(s.store.pods) == 2]
    assert final
    stray = final[0].store.get("Pod", "default", "stray")
    assert [r.name for r in stray.meta.owner_references] == ["web"]
    # The controller claims before it creates: at first, adoption is its only step.
    init = comp.system.init_states[0]
    steps = [render_label(l) for r in comp.system.rules for l, _ in r.fn(init) if l[0] == "replicaset"]
    assert steps == ["replicaset.adopt_pod(rs=default/web, pod=default/stray)"]


def test_surge_overshoot_is_the_old_replicaset_lagging_its_spec():
    """The Deployment controller counts spec.replicas (NewRSNewReplicas): after it scales the old
    ReplicaSet down and the new one up, the new pod is created before the old one is deleted."""
    sc, comp, res = run("rolling-update")
    v = next(v for v in res.verdicts if v.prop == "rollout-within-surge")
    steps = [render_label(l) for l in v.trace.labels[1:]]
    assert steps[-3:] == ["deployment.scale_down(deployment=default/web)", "deployment.scale_up(deployment=default/web)",
                          steps[-1]]
    assert steps[-1].startswith("replicaset.create_pod(")
    last = v.trace.states[-1]
    old = [rs for rs in last.store.replicasets if rs.template.spec.containers[0].image == "nginx:1.27"][0]
    old_pods = [p for p in last.store.pods if p.active and p.meta.controller_uid() == old.meta.uid]
    assert old.replicas == 1 and len(old_pods) == 2


def _final_states(res):
    g = res.search.graph
    return [g.states[i] for i in res.search.deadlocks]


def test_background_and_foreground_deletion_remove_everything():
    for name in ("delete-deployment-background", "delete-deployment-foreground"):
        sc, comp, res = run(name)
        finals = _final_states(res)
        assert finals
        for s in finals:
            assert not s.store.deployments and not s.store.replicasets and not s.store.pods, name
            assert not any(h.pods for h in s.hosts), name


def test_foreground_keeps_the_owner_until_its_dependents_are_gone():
    sc, comp, res = run("delete-deployment-foreground")
    waiting = [s for s in res.search.graph.states
               if s.store.deployments and s.store.deployments[0].meta.deleting and s.store.replicasets]
    assert waiting and all("foregroundDeletion" in s.store.deployments[0].meta.finalizers for s in waiting)
    assert not [s for s in res.search.graph.states if s.store.replicasets
                and s.next_change == 1 and not s.store.deployments
                and any(r.kind == "Deployment" for r in s.store.replicasets[0].meta.owner_references)]


def test_orphan_deletion_keeps_the_replicaset_and_its_running_pods():
    sc, comp, res = run("delete-deployment-orphan")
    # (where the user deleted the Deployment before its controller made a ReplicaSet, nothing remains)
    finals = [s for s in _final_states(res) if s.store.replicasets]
    assert finals
    for s in finals:
        assert not s.store.deployments
        (rs,) = s.store.replicasets
        assert rs.meta.owner_references == ()
        assert len(s.store.pods) == 2 and all(p.phase == "Running" for p in s.store.pods)


def test_garbage_collected_fails_without_the_collector():
    sc, comp, res = run("delete-deployment-background")
    comp.system.rules = [r for r in comp.system.rules if not r.name.startswith("garbagecollector.")]
    v = {x.prop: x for x in check(comp.system).verdicts}["garbage-collected"]
    assert v.verdict == "violated" and "still references its deleted owner Deployment web" in v.diagnosis


def test_two_schedulers_overbook_and_the_kubelet_rejects():
    """Each scheduler binds to n1 on a view without the other's bind; n1's kubelet rejects the second pod."""
    sc, comp, res = run("two-schedulers")
    binders = set()
    rejected = False
    for s in res.search.graph.states:
        for r in comp.system.rules:
            for lab, _ in r.fn(s):
                text = render_label(lab)
                if lab[1] == "bind":
                    binders.add(lab[0])
                if text.startswith("kubelet.reject_pod(node=n1") and text.endswith("reason=OutOfcpu)"):
                    rejected = True
    assert binders == {"default-scheduler", "batch-scheduler"}
    assert rejected
    finals = _final_states(res)
    assert finals and all(sorted(h.name for h in s.hosts if h.pods) == ["n1", "n2"] for s in finals)


def test_legacy_job_tracking_runs_a_removed_success_again():
    """Before 1.26 the Job counts the succeeded pods that exist: PodGC removes one, the Job makes another."""
    sc, comp, res = run("job-legacy-tracking")
    v = next(v for v in res.verdicts if v.prop == "job-completions-not-exceeded")
    steps = [render_label(l) for l in v.trace.labels[1:]]
    gc = next(i for i, l in enumerate(steps) if l.startswith("podgc.collect_terminated("))
    assert steps[gc - 1].endswith("outcome=Succeeded)")
    assert "job.create_pod(job=default/pi)" in steps[gc + 1:]
    assert sum(1 for l in steps if l.endswith("outcome=Succeeded)")) == 3
    c = next(v for v in res.verdicts if v.prop == "job-completes")
    assert c.trace.loop is not None  # a fair cycle of pods created and collected for ever


def test_tracking_finalizers_count_before_pods_can_go():
    """A running Job pod keeps its tracking finalizer until it is counted; only one being deleted (the active pod
    of a Job bound to fail, counted failed at once as upstream's isPodFailed does) loses it while still running."""
    sc, comp, res = run("job-tracking-finalizers")
    released_while_deleting = 0
    for s in res.search.graph.states:
        for p in s.store.pods:
            if p.phase == "Running" and not p.meta.deleting:
                assert "batch.kubernetes.io/job-tracking" in p.meta.finalizers
            released_while_deleting += p.phase == "Running" and p.meta.deleting and not p.meta.finalizers
    assert released_while_deleting
    assert all(s.store.jobs[0].condition in ("Complete", "Failed") for s in _final_states(res))


def test_trace_names_are_stable_from_step_to_step():
    """Traces show states without renumbering: a name never changes its uid along a trace."""
    for name in ("job-legacy-tracking", "rs-stale-cache-no-expectations", "kubelet-relist-cache"):
        sc, comp, res = run(name)
        for v in res.verdicts:
            if v.trace is None or v.trace.loop is not None:
                continue
            assert v.trace.presented
            seen = {}
            for st in v.trace.states:
                for p in st.store.pods:
                    assert seen.setdefault(p.meta.key, p.meta.uid) == p.meta.uid or p.meta.generate_name == "", \
                        (name, p.meta.key)


def test_stable_reconciliation_catches_a_replicaset_that_stops_short():
    """A ReplicaSet controller broken to stop one pod short: the ReplicaSet never matches its spec."""
    from explorer import Rule
    sc, comp, res = run("rs-adopts-orphan")
    assert next(v for v in res.verdicts if v.prop == "stable-reconciliation").verdict == "holds"
    real = next(r for r in comp.system.rules if r.name == "replicaset.create_pod")

    def short(s):
        for lab, nxt in real.fn(s):
            if len(s.store.pods) < 1:
                yield lab, nxt
    comp.system.rules = [Rule(r.name, short) if r is real else r for r in comp.system.rules]
    v = {x.prop: x for x in check(comp.system).verdicts}["stable-reconciliation"]
    assert v.verdict == "violated" and "ReplicaSet default/web wants 2 pods, 1 Running and Ready" in v.diagnosis


def test_placement_oracle_tells_greedy_order_from_shortfall():
    sc, comp, res = run("greedy-scheduling")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert "a placement of all these pods on the machines that are up exists" in v.diagnosis
    assert "greedy" in v.diagnosis
    sc, comp, res = run("web-two-nodes-crash")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert "no placement exists on the machines that are up: a capacity shortfall" in v.diagnosis


def skews(s, zone_of):
    """Pods of app=web per zone, counting only active pods on Nodes that exist."""
    counts = dict.fromkeys(set(zone_of.values()), 0)
    for p in s.store.pods:
        if p.spec.node_name and p.active:
            counts[zone_of[p.spec.node_name]] += 1
    return counts


def test_the_scheduler_never_binds_beyond_max_skew():
    """In every reachable state of the zone-down scenario the web pods per zone (the crashed machine's zone
    included: its Node stays) differ by at most maxSkew 1; a scheduler without the PodTopologySpread
    filter binds two pods into one zone first in some order."""
    sc, comp, res = run("topology-spread-zone-down")
    zone_of = {n.meta.name: sc.zone_of(n.meta.name) for n in sc.nodes}
    seen = set()
    for s in res.search.graph.states:
        c = skews(s, zone_of)
        assert max(c.values()) - min(c.values()) <= 1, c
        seen.add(tuple(sorted(c.values())))
    assert (1, 1, 1) in seen and (0, 1, 1) in seen


def test_topology_spread_diagnosis_quotes_the_scheduler_and_names_the_dead_domain():
    sc, comp, res = run("topology-spread-zone-down")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert "0/3 nodes are available: 2 node(s) didn't match pod topology spread constraints" in v.diagnosis
    assert "whose machine is down, still counts as a topology spread domain" in v.diagnosis
    assert any(lab and lab[1] == "node_crash" for lab in v.trace.labels)


def test_the_scheduler_keeps_anti_affine_pods_apart():
    sc, comp, res = run("anti-affinity-spread")
    for s in res.search.graph.states:
        nodes = [p.spec.node_name for p in s.store.pods if p.spec.node_name and p.active]
        assert len(nodes) == len(set(nodes)), "two db pods bound to one node"
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert "no placement exists" in v.diagnosis


def test_an_ambiguous_create_defeats_expectations():
    """rs-create-timeout: the create whose response timed out is in etcd, the controller does not expect
    it, and its next create (from a view that has not seen it) is the one replicas-bounded catches."""
    sc, comp, res = run("rs-create-timeout")
    v = next(v for v in res.verdicts if v.prop == "replicas-bounded")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert "replicaset.create_pod(rs=default/web, response=timeout)" in labels
    assert labels[-1] == "replicaset.create_pod(rs=default/web)"
    assert labels.index("replicaset.create_pod(rs=default/web, response=timeout)") < len(labels) - 1
    sc0, comp0, res0 = run("rs-stale-cache-expectations")
    assert next(v for v in res0.verdicts if v.prop == "replicas-bounded").verdict == "holds"


def test_an_expired_expectation_lets_a_lagging_controller_create_again():
    """rs-expectations-expire (kubernetes 129795): the controller's expectation for its last create expires
    while its view has not seen that pod; its next create, from that view, is the one replicas-bounded
    catches.  The same cluster without the expiry (rs-stale-cache-expectations) holds."""
    sc, comp, res = run("rs-expectations-expire")
    v = next(v for v in res.verdicts if v.prop == "replicas-bounded")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    expiry = "environment.expectations_timeout(process=kube-controller-manager, replicaset=default/web)"
    assert expiry in labels and labels[-1] == "replicaset.create_pod(rs=default/web)"
    k = labels.index(expiry)
    # the expired expectation was for a create its view had not seen yet
    assert v.trace.states[k].expectations and not v.trace.states[k + 1].expectations
    assert labels.count("replicaset.create_pod(rs=default/web)") == 3
    sc0, comp0, res0 = run("rs-stale-cache-expectations")
    assert next(v for v in res0.verdicts if v.prop == "replicas-bounded").verdict == "holds"


def test_an_expectations_timeout_without_a_lagging_view_is_warned(tmp_path):
    from model.scenario import load_scenario
    text = open(os.path.join(SCENARIOS, "rs-expectations-expire.yaml")).read().replace("maxStaleness: 2", "maxStaleness: 0")
    (tmp_path / "s.yaml").write_text(text)
    sc = load_scenario(str(tmp_path / "s.yaml"))
    assert any("expectations-timeout is allowed but spec.check.maxStaleness is 0" in w for w in sc.warnings)


def test_a_partially_disrupted_small_zone_stops_eviction():
    """zone-partial-disruption: with 3 of the zone's 4 Nodes unreachable the zone is PartialDisruption and its
    Nodes are not tainted NoExecute, so the pod on a crashed Node is never evicted (the diagnosis says why, in
    the trace's names); at a threshold of 80% (zone-partial-threshold) the same crashes leave the zone Normal,
    the Nodes are tainted, and the pod is replaced."""
    from model.components.nodelifecycle import NO_EXECUTE
    sc, comp, res = run("zone-partial-disruption")
    v = next(v for v in res.verdicts if v.prop == "pods-rescheduled-after-node-failure")
    last = v.trace.states[-1]
    down = sorted(h.name for h in last.hosts if not h.up)
    assert len(down) == 3 and all(NO_EXECUTE not in n.taints for n in last.store.nodes)
    assert all(n.ready == "Unknown" for n in last.store.nodes if n.meta.name in down)
    pod = next(p for p in last.store.pods if not p.meta.deleting)
    assert pod.spec.node_name in down and f"failed node {pod.spec.node_name} (its Node is not tainted NoExecute: " \
        "its zone a is partially disrupted, 3 of its 4 Nodes not Ready" in v.diagnosis
    sc, comp, res = run("zone-partial-threshold")
    assert next(v for v in res.verdicts if v.prop == "pods-rescheduled-after-node-failure").verdict == "holds"
    tainted = any(NO_EXECUTE in n.taints and sum(1 for h in s.hosts if not h.up) == 3
                  for s in res.search.graph.states for n in s.store.nodes)
    assert tainted, "with three Nodes down and the zone Normal, some Node is tainted for eviction"


def test_node_lifecycle_flags_are_checked(tmp_path):
    from model.scenario import ScenarioError, load_scenario
    text = open(os.path.join(SCENARIOS, "zone-partial-threshold.yaml")).read()
    for bad, msg in (("unhealthyZoneThreshold: 0.8", "unhealthyZoneThreshold: must be a fraction"),):
        (tmp_path / "s.yaml").write_text(text.replace("unhealthyZoneThreshold: 0.8", "unhealthyZoneThreshold: 1.5"))
        with pytest.raises(ScenarioError, match=msg):
            load_scenario(str(tmp_path / "s.yaml"))
    (tmp_path / "s.yaml").write_text(text.replace("unhealthyZoneThreshold: 0.8", "largeClusterSizeThreshold: -1"))
    with pytest.raises(ScenarioError, match="largeClusterSizeThreshold: must be 0 or more"):
        load_scenario(str(tmp_path / "s.yaml"))


def fair_instances(res):
    return {(i[0], i[1]) for i in res.search.graph.instances}


def test_a_partitioned_node_is_evicted_and_its_pods_replaced():
    """node-partition-eviction: the node lifecycle controller marks the cut-off Node unreachable, the
    taint-eviction controller deletes its pods, and a state is reachable where an evicted pod still runs on
    the partitioned machine while its replacement runs on another one."""
    sc, comp, res = run("node-partition-eviction")
    assert {("nodelifecycle", "mark_unreachable"), ("taint-eviction", "evict")} <= fair_instances(res)
    both = False
    for s in res.search.graph.states:
        cut = [h for h in s.hosts if not h.reachable]
        if not cut:
            continue
        evicted = [p for p in s.store.pods if p.meta.deleting and p.spec.node_name == cut[0].name
                   and cut[0].running(p.meta.uid) is not None]
        elsewhere = [p for p in s.store.pods if not p.meta.deleting and p.phase == "Running"
                     and p.spec.node_name != cut[0].name]
        both = both or (evicted and len(elsewhere) == 2)
    assert both


def test_full_disruption_evicts_nothing():
    """full-disruption: every Node stops heartbeating at once; the controller marks them Unknown but taints
    none NoExecute, so no eviction step is reachable, and the diagnosis names the mode."""
    sc, comp, res = run("full-disruption")
    assert ("nodelifecycle", "mark_unreachable") in fair_instances(res)
    assert not any(i[0] == "taint-eviction" for i in res.search.graph.instances)
    for s in res.search.graph.states:
        assert not any(t.effect == "NoExecute" for n in s.store.nodes for t in n.taints)
    v = next(v for v in res.verdicts if v.prop == "pods-rescheduled-after-node-failure")
    assert v.verdict == "violated" and "full-disruption mode" in v.diagnosis


def test_a_daemonset_runs_one_pod_per_node_and_keeps_it_through_a_crash():
    """logging-daemonset: every Node gets exactly one fluentd pod, bound by the default scheduler to the Node
    its node affinity names; a crashed Node keeps its pod (it tolerates the unreachable taint for ever)."""
    from model.components.daemonset import target_node
    sc, comp, res = run("logging-daemonset")
    finals = 0
    for s in res.search.graph.states:
        pods = [p for p in s.store.pods if not p.meta.deleting and p.phase not in ("Failed", "Succeeded")]
        targets = [target_node(p) for p in pods]
        assert len(targets) == len(set(targets)), "two daemon pods for one Node"
        assert all(p.spec.node_name in ("", target_node(p)) for p in pods)
        assert not any(p.meta.deleting for p in s.store.pods), "a daemon pod was evicted"
        if len(pods) == 3 and all(p.phase == "Running" for p in pods):
            finals += 1
    assert finals
    sc, comp, res = run("daemonset-no-room")
    v = next(v for v in res.verdicts if v.prop == "daemonset-converges")
    assert "on n2" in v.diagnosis and "Insufficient cpu" in v.diagnosis


def quiescent_states(res):
    g = res.search.graph
    return [g.states[i] for i in range(g.expanded) if not g.fair_edges[i]]


def test_vm_deleted_ends_differently_with_and_without_a_cloud():
    """With a cloud-controller-manager the deleted VM's Node object is deleted and PodGC removes its pods;
    on premises the Node stays, Unknown and tainted unreachable NoExecute.  Both reschedule the pods."""
    for name, cloud in (("vm-deleted-cloud", True), ("vm-deleted-on-prem", False)):
        sc, comp, res = run(name)
        ends = [s for s in quiescent_states(res) if any(h.vm_deleted for h in s.hosts)]
        assert ends, name
        for s in ends:
            gone = next(h.name for h in s.hosts if h.vm_deleted)
            node = s.store.get("Node", "", gone)
            assert not any(p.spec.node_name == gone and not p.meta.deleting for p in s.store.pods), name
            if cloud:
                assert node is None, "the cloud-controller-manager deletes the Node of a deleted VM"
            else:
                assert node is not None and node.ready == "Unknown"
                assert any(t.effect == "NoExecute" for t in node.taints)
        kinds = {(i[0], i[1]) for i in res.search.graph.instances}
        assert (("cloud-node-lifecycle", "delete_node") in kinds) == cloud


def test_nodename_on_a_noexecute_node_loops_for_ever():
    """nodename-noexecute-loop: the kubelet rejects every pod (reason Taint) and the ReplicaSet replaces it:
    a fair lasso, not a stuck state."""
    sc, comp, res = run("nodename-noexecute-loop")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert v.trace.loop is not None
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert any(l.startswith("kubelet.reject_pod(") and "reason=Taint" in l for l in labels)
    assert any(l.startswith("replicaset.create_pod(") for l in labels[v.trace.loop:])


def test_a_new_job_leader_on_a_stale_cache_runs_a_third_pod():
    """job-restart-lagging: the Job's third pod is created by the replica that took over, after the crash."""
    sc, comp, res = run("job-restart-lagging")
    v = next(v for v in res.verdicts if v.prop == "job-completions-not-exceeded")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    crash = next(i for i, l in enumerate(labels) if l.startswith("environment.controller_crash("))
    creates = [i for i, l in enumerate(labels) if l.startswith("job.create_pod(")]
    assert len(creates) == 3 and creates[-1] > crash
    assert "by=kube-controller-manager-2" in labels[creates[-1]] or "by=kube-controller-manager-1" in labels[creates[-1]]
    assert labels[creates[0]].split("by=")[1] != labels[creates[-1]].split("by=")[1]


def test_daemonset_pods_count_in_the_placement_diagnosis():
    """DaemonSet pods take room on the nodes left: the diagnosis names a shortfall, not the greedy order."""
    _, _, res = run("daemonset-leaves-no-room")
    v = {x.prop: x for x in res.verdicts}["deployment-converges"]
    assert "a capacity shortfall" in v.diagnosis and "cpu requested 2100m, allocatable 2000m" in v.diagnosis
    assert "greedy" not in v.diagnosis


def test_a_job_pod_deleted_before_it_succeeded_is_a_failure(monkeypatch):
    """isPodFailed: the evicted pod of job-node-crash is counted failed (status.failed 1 where the Job completes
    after the crash) and released from its tracking finalizer, so its deletion can finish.  A Job controller that
    counts only Failed pods (as the model once did) never counts it: no run ends with a failure counted."""
    from model.components import job
    sc, comp, res = run("job-node-crash")
    assert {v.prop: v.verdict for v in res.verdicts}["stable-reconciliation"] == "holds"
    assert {(s.store.jobs[0].condition, s.store.jobs[0].failed) for s in _final_states(res)} == {("Complete", 0),
                                                                                                  ("Complete", 1)}
    monkeypatch.setattr(job, "pod_failed", lambda p, j=None: p.phase == "Failed")
    sc, comp, res = run("job-node-crash")
    assert {(s.store.jobs[0].condition, s.store.jobs[0].failed) for s in _final_states(res)} == {("Complete", 0)}


def test_a_job_bound_to_fail_deletes_its_active_pods():
    """deleteActivePods: once the Job is to fail (FailureTarget), its pods still running are deleted (one per step),
    keeping their tracking finalizer so that they are counted failed; manageJob's own deletions (delete_excess)
    happen only beyond what parallelism and the completions left allow."""
    from model.components.job import job_pods
    sc, comp, res = run("job-tracking-finalizers")
    deleted_when_failing = 0
    for s in res.search.graph.states:
        for rule in comp.system.rules:
            if rule.name not in ("job.delete_excess", "job.delete_active"):
                continue
            for lab, nxt in rule.fn(s):
                j = s.store.jobs[0]
                active = [p for p in job_pods(s.store, j) if p.active]
                if rule.name == "job.delete_excess":
                    assert not j.failure_target and len(active) > min(j.parallelism, j.completions - j.succeeded), lab
                    continue
                assert j.failure_target == "BackoffLimitExceeded" and not j.condition, lab
                victim = nxt.store.get("Pod", "default", dict(lab[3])["pod"].split("/")[1])
                assert victim.meta.deleting and "batch.kubernetes.io/job-tracking" in victim.meta.finalizers
                deleted_when_failing += 1
    assert deleted_when_failing > 0


# ---- StatefulSets (model/components/statefulset.py) ---------------------------------------------------------

def _steps(comp, s, rule_name):
    """(label, next state) of each step of rule `rule_name` enabled in `s`."""
    for rule in comp.system.rules:
        if rule.name == rule_name:
            yield from rule.fn(s)


def _ordinal(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


def _web(s, i):
    return s.store.get("Pod", "default", f"web-{i}")


def test_statefulset_ordered_ready_creates_an_ordinal_only_after_the_lower_ones_are_running_and_ready():
    """statefulset-ordered: on every reachable state, a create of web-k is enabled only while web-0..k-1 are
    Running, Ready and not terminating; the pods carry their identity; scale-down deletes the highest ordinal,
    one at a time."""
    from model.components.statefulset import POD_INDEX_LABEL, POD_NAME_LABEL
    sc, comp, res = run("statefulset-ordered")
    created = set()
    deleted = []
    for s in res.search.graph.states:
        for lab, nxt in _steps(comp, s, "statefulset.create_pod"):
            name = dict(lab[2])["pod"].split("/", 1)[1]
            k = _ordinal(name)
            for i in range(k):
                p = _web(s, i)
                assert p is not None and p.phase == "Running" and p.ready and not p.meta.deleting, (lab, i)
            pod = nxt.store.get("Pod", "default", name)
            assert (POD_NAME_LABEL, name) in pod.meta.labels and (POD_INDEX_LABEL, str(k)) in pod.meta.labels
            assert [(r.kind, r.name, r.controller) for r in pod.meta.owner_references] == [("StatefulSet", "web", True)]
            assert not pod.meta.generate_name
            created.add(k)
        for lab, nxt in _steps(comp, s, "statefulset.delete_pod"):
            k = _ordinal(dict(lab[2])["pod"])
            mine = [p for p in s.store.pods if p.meta.owner_references]
            assert all(_ordinal(p.meta.name) <= k for p in mine), lab          # the highest ordinal first
            assert not any(p.meta.deleting for p in mine), lab                 # one at a time
            deleted.append(k)
    assert created == {0, 1, 2} and {1, 2} <= set(deleted)


PARALLEL = open(os.path.join(SCENARIOS, "statefulset-ordered.yaml")).read().replace(
    "  serviceName: web\n", "  serviceName: web\n  podManagementPolicy: Parallel\n")


def test_statefulset_parallel_creates_without_waiting():
    """The same set with podManagementPolicy Parallel: web-2 may be created before web-0 runs (so the check of
    the test above can fail), and still converges."""
    from model.scenario import parse_scenario
    comp = compose(parse_scenario(PARALLEL, os.path.join(SCENARIOS, "parallel.yaml")))
    res = check(comp.system, reduction="none", symmetry=False)
    assert {v.prop: v.verdict for v in res.verdicts}["statefulset-converges"] == "holds"
    early = [s for s in res.search.graph.states for lab, _ in _steps(comp, s, "statefulset.create_pod")
             if dict(lab[2])["pod"] == "default/web-2" and (_web(s, 0) is None or _web(s, 0).phase != "Running")]
    assert early


def test_statefulset_failed_pod_is_deleted_then_created_again_under_its_name():
    """processReplica: a Failed replica is deleted, nothing is created while etcd holds it (Terminating), and
    once it is gone the same name comes back with a new uid."""
    import attrs
    sc, comp, res = run("statefulset-ordered")
    s = next(s for s in res.search.graph.states
             if _web(s, 0) is not None and _web(s, 0).phase == "Running" and s.next_change == 0 and _web(s, 1) is None)
    old = _web(s, 0)
    s = s.with_store(s.store.put(attrs.evolve(old, phase="Failed", ready=False)))
    assert not list(_steps(comp, s, "statefulset.create_pod"))
    (lab, s), = _steps(comp, s, "statefulset.delete_pod")
    assert dict(lab[3])["why"] == "Failed" and _web(s, 0).meta.deleting
    assert not list(_steps(comp, s, "statefulset.create_pod"))          # its name is still taken
    (_, s), = _steps(comp, s, "kubelet.finish_deletion")
    (lab, s), = _steps(comp, s, "statefulset.create_pod")
    assert _web(s, 0) is not None and _web(s, 0).meta.uid != old.meta.uid and _web(s, 0).phase == "Pending"


def test_a_crashed_nodes_statefulset_pod_stays_terminating_and_is_never_replaced():
    """statefulset-node-crash: stuck with the evicted pod Terminating on the dead machine; no pod of its name
    is created again, and no machine ever runs two pods of one name."""
    sc, comp, res = run("statefulset-node-crash")
    v = {x.prop: x for x in res.verdicts}["statefulset-converges"]
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert any(l.startswith("environment.node_crash(") for l in labels)
    assert any(l.startswith("taint-eviction.evict(") for l in labels)
    assert "stuck" in v.diagnosis and "Terminating on unreachable node" in v.diagnosis
    assert "never replaces a pod whose deletion is not confirmed" in v.diagnosis
    last = v.trace.states[-1]
    down = next(h.name for h in last.hosts if not h.up)
    stuck = [p for p in last.store.pods if p.meta.deleting]
    assert stuck and all(p.spec.node_name == down for p in stuck)
    assert not list(_steps(comp, last, "statefulset.create_pod"))
    creates = [l for l in labels if l.startswith("statefulset.create_pod(")]
    assert len(creates) == len(set(creates))                            # no identity is made twice


def test_statefulset_out_of_service_taint_lets_podgc_free_the_identity():
    """statefulset-out-of-service: PodGC force-deletes the pods Terminating on the tainted, unready Node, and
    the set settles on n1 in every final state; without the user's taint, the same outage leaves it stuck."""
    sc, comp, res = run("statefulset-out-of-service")
    g = res.search.graph
    freed = [s for s in g.states for _ in _steps(comp, s, "podgc.collect_terminating")]
    assert freed
    final = [s for s in g.states if not any(True for r in comp.system.rules if r.fair for _ in r.fn(s))]
    assert final
    for s in final:
        assert [(_web(s, i).spec.node_name, _web(s, i).phase) for i in range(2)] == [("n1", "Running")] * 2
    from model.scenario import parse_scenario
    text = sc.text.split("  changes:\n")[0] + "---" + sc.text.split("\n---", 1)[1]
    without = compose(parse_scenario(text, sc.path))
    verdicts = {v.prop: v for v in check(without.system).verdicts}
    assert verdicts["statefulset-converges"].verdict == "violated"
    assert "Terminating on unreachable node n2" in verdicts["statefulset-converges"].diagnosis


def _closure(comp, start):
    """Every state reachable from `start` by the scenario's rules (the canonical forms)."""
    canon = comp.system.canonical
    seen = {canon(start)}
    todo = [canon(start)]
    while todo:
        s = todo.pop()
        for rule in comp.system.rules:
            for _, nxt in rule.fn(s):
                nxt = canon(nxt)
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return seen


def test_force_deleting_a_statefulset_pod_on_a_partitioned_node_runs_it_twice_for_as_long_as_the_partition():
    """statefulset-force-delete-partition: the force deletion lets the controller re-create web-1 at once, and
    its new copy runs beside the old one; with the old copy's node cut off, nothing can stop it again (while
    with the node reachable, its kubelet's kill_orphan ends the double run)."""
    sc, comp, res = run("statefulset-force-delete-partition")
    v = {x.prop: x for x in res.verdicts}["pod-single-node"]
    labels = [render_label(l) for l in v.trace.labels[1:]]
    force = next(i for i, l in enumerate(labels)
                 if l.startswith("user.change(") and "force-delete Pod default/web-1" in l)
    assert any(l.startswith("statefulset.create_pod(sts=default/web, pod=default/web-1") for l in labels[force:])
    inv = next(i for i in comp.system.invariants if i.name == "pod-single-node")
    twice = [s for s in res.search.graph.states if inv.check(s)]
    cut_off = []
    for s in twice:
        old = next(h for h in s.hosts for rp in h.pods
                   if rp.name == "web-1" and (_web(s, 1) is None or rp.uid != _web(s, 1).meta.uid))
        if old.reachable:
            assert any(dict(lab[2])["node"] == old.name for lab, _ in _steps(comp, s, "kubelet.kill_orphan"))
        else:
            cut_off.append(s)
    assert cut_off
    assert all(inv.check(t) for t in _closure(comp, cut_off[0]))       # no way back while the partition lasts


def test_statefulset_out_of_service_taint_on_a_partitioned_node_runs_pods_twice():
    """statefulset-out-of-service-partition: the violation needs the partition (PodGC acts only on a Node that
    is not Ready): the counterexample cuts n2 off, PodGC force-deletes its pod, and the set re-creates it."""
    sc, comp, res = run("statefulset-out-of-service-partition")
    v = {x.prop: x for x in res.verdicts}["pod-single-node"]
    labels = [render_label(l) for l in v.trace.labels[1:]]
    cut = next(i for i, l in enumerate(labels) if l.startswith("environment.partition(node=n2"))
    gc = next(i for i, l in enumerate(labels) if l.startswith("podgc.collect_terminating("))
    pod = dict(v.trace.labels[gc + 1][2])["pod"]
    assert cut < gc < next(i for i, l in enumerate(labels)
                           if l.startswith(f"statefulset.create_pod(sts=default/web, pod={pod}") and i > gc)


def test_statefulset_pod_names_do_not_follow_uids():
    """The canonical form renumbers uids, and renames only generated names: a StatefulSet pod keeps
    `<set>-<ordinal>` whatever its uid (web-1 is re-created with a new one in this scenario)."""
    sc, comp, res = run("statefulset-force-delete-partition")
    names = {p.meta.name for s in res.search.graph.states for p in s.store.pods}
    names |= {rp.name for s in res.search.graph.states for h in s.hosts for rp in h.pods}
    assert names == {"web-0", "web-1"}
    uids = {p.meta.uid for s in res.search.graph.states for p in s.store.pods if p.meta.name == "web-1"}
    assert len(uids) > 1


def test_a_change_may_name_a_statefulset_pod_and_the_fields_not_modelled_are_warned():
    from model.scenario import ScenarioError, parse_scenario
    text = open(os.path.join(SCENARIOS, "statefulset-force-delete-partition.yaml")).read()
    parse_scenario(text, "x.yaml")
    with pytest.raises(ScenarioError, match="no manifest or earlier change creates Pod default/db-1"):
        parse_scenario(text.replace("name: web-1, gracePeriodSeconds", "name: db-1, gracePeriodSeconds"), "x.yaml")
    extra = ("  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}\n  minReadySeconds: 5\n"
             "  ordinals: {start: 3}\n  revisionHistoryLimit: 3\n  serviceName: web\n")
    sc = parse_scenario(text.replace("  serviceName: web\n", extra), "x.yaml")
    fields = sorted(w.split("(StatefulSet default/web): ", 1)[1].split(":", 1)[0] for w in sc.warnings)
    assert fields == ["spec.minReadySeconds", "spec.ordinals"]
    assert all("statefulset-converges" in w for w in sc.warnings)
    with pytest.raises(ScenarioError, match="spec.podManagementPolicy: expected OrderedReady or Parallel"):
        parse_scenario(text.replace("  serviceName: web\n", "  serviceName: web\n  podManagementPolicy: Burst\n"),
                       "x.yaml")


def test_statefulset_pods_count_in_n_plus_one_capacity():
    """The registry's pod groups: a StatefulSet's pods must find room after a node failure."""
    from model.scenario import parse_scenario
    from properties import get
    text = open(os.path.join(SCENARIOS, "statefulset-node-crash.yaml")).read().replace("cpu: 500m", "cpu: 1500m")
    sc = parse_scenario(text, "x.yaml")
    r = get("n-plus-one-capacity").build(sc).decide()
    assert not r.holds and "2 x StatefulSet default/web" in r.diagnosis


def test_statefulset_template_change_is_rolled_out_not_warned():
    """Rolling updates of a StatefulSet are modelled (tests/test_statefulset_rollout.py): a change applying a new
    template is not warned, and turns the revisions on."""
    from model.components.statefulset import revision_table
    from model.scenario import parse_scenario
    text = open(os.path.join(SCENARIOS, "statefulset-ordered.yaml")).read()
    head, manifests = text.split("\n---", 1)
    sts = "---" + manifests.split("\n---")[-1]
    body = "\n".join("        " + line for line in sts.replace("nginx:1.27", "nginx:1.28").splitlines()[1:])
    changed = head + "\n    - apply:\n" + body + "\n---" + manifests
    sc = parse_scenario(changed, "x.yaml")
    assert not [w for w in sc.warnings if "rolling update" in w or "template" in w]
    assert len(revision_table(sc.objects, sc.changes)) == 2


def test_every_pod_gets_the_default_toleration_seconds():
    """DefaultTolerationSeconds admission: a pod created without a toleration of the not-ready/unreachable
    NoExecute taints gets both with 300 s, so taint eviction says `after=300s`; a pod that tolerates them
    already (a DaemonSet's, or a wildcard toleration) is left as it is."""
    from model.components.apiserver import UNREACHABLE_TOLERATION, default_toleration_seconds
    from model.objects import Toleration
    sc, comp, res = run("node-partition-eviction")
    pods = [p for s in res.search.graph.states for p in s.store.pods]
    assert pods and all(UNREACHABLE_TOLERATION in p.spec.tolerations for p in pods)
    evictions = {render_label(l) for l in _labels_of(comp, res) if l[:2] == ("taint-eviction", "evict")}
    assert evictions and all("after=300s" in e for e in evictions)
    import attrs
    p = pods[0]
    tolerant = attrs.evolve(p, spec=attrs.evolve(p.spec, tolerations=(Toleration("", "Exists"),)))
    assert default_toleration_seconds(tolerant) is tolerant   # a wildcard toleration covers both taints
    bare = attrs.evolve(p, spec=attrs.evolve(p.spec, tolerations=()))
    assert [t.seconds for t in default_toleration_seconds(bare).spec.tolerations] == [300, 300]


def _labels_of(comp, res):
    """Every label of every step explored."""
    out = []
    for s in res.search.graph.states:
        for rule in comp.system.rules:
            out.extend(lab for lab, _ in rule.fn(s))
    return out


def test_every_expected_verdict_has_its_own_why():
    """Each verdict a built-in scenario expects (spec.expect) gives its own reason: an expected violation has a
    non-empty `why`, and where a scenario expects more than one verdict no `why` is the first sentence of the
    scenario's header comment, whole or cut short with "..." (the placeholder once generated for them all,
    which said what the scenario is, not why that property fails)."""
    import re
    import yaml

    def first_sentences(text):
        lines = []
        for line in text.splitlines():
            if not line.startswith("#"):
                break
            lines.append(line[1:].strip())
        header = re.sub(r"^\([a-z]\)\s+", "", " ".join(lines).strip())   # "(b) The same ..."
        two_spaces = re.match(r"(.*?\.)(?=\s{2,}|\s*$)", header)
        return {s for s in (re.split(r"(?<=\.)\s+(?=[A-Z])", header)[0],
                            two_spaces.group(1) if two_spaces else header) if s}

    def placeholder(why, sentences):
        cut = why[:-3].rstrip() if why.endswith("...") else why[:-1].rstrip() if why.endswith("\u2026") else None
        return any(why.strip() == s or (cut is not None and s.startswith(cut)) for s in sentences)

    problems, checked = [], 0
    for fname in sorted(f for f in os.listdir(SCENARIOS) if f.endswith(".yaml")):
        text = open(os.path.join(SCENARIOS, fname)).read()
        cluster = next((d for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind") == "Cluster"),
                       None)
        expect = ((cluster or {}).get("spec") or {}).get("expect") or {}
        sentences = first_sentences(text)
        for prop, entry in expect.items():
            verdict = entry.get("verdict") if isinstance(entry, dict) else entry
            why = entry.get("why") if isinstance(entry, dict) else None
            checked += 1
            if verdict == "violated" and not (isinstance(why, str) and why.strip()):
                problems.append(f"{fname}: {prop}: an expected violation without a why")
            elif len(expect) > 1 and isinstance(why, str) and placeholder(why, sentences):
                problems.append(f"{fname}: {prop}: the why is the header's first sentence, not this property's reason")
    assert checked, "no scenario declares spec.expect"
    assert not problems, f"{len(problems)} expected verdicts without their own why:\n" + "\n".join(problems)
