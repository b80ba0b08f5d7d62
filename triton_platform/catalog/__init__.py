"""Catalogues of other systems' names: GPUs and MIG profiles, machine types, pinned versions."""
