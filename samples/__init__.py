"""Sample models: generated deterministically by ``python -m samples.make_samples``."""
