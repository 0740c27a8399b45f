"""The Kubernetes architecture as pure reducers over one immutable ClusterState."""
