"""Chart values and Prometheus objects computed from the typed config: Triton, autoscaling, alerts."""
