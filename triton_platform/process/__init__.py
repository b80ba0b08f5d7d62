"""The program's own Python process: set up for one evaluation, then exit (``evaluation``).

Imports nothing of ours: ``__main__.py`` runs it first, before the config models are built.
"""

from triton_platform.process.evaluation import prepare_for_one_evaluation

__all__ = ["prepare_for_one_evaluation"]
