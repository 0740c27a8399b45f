"""kubecheck: a model checker of the Kubernetes architecture (the face: CLI, composition, reports)."""

__version__ = "0.1.0"
