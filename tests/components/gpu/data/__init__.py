"""Test data: the pinned gpu-operator chart's ClusterPolicy CRD schema (source and transformation inside the JSON)."""
