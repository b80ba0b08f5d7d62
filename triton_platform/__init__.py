"""Plain build logic of triton-platform: GPU/MIG catalogue, versions, model publishing.

Nothing in this package imports Pulumi; components in ``components/`` only wire it.
"""
