"""Releases: the manifest, keeping and promoting releases between stores, rebuilding engines, the promote command.

`python -m triton_platform.release` runs the promote command (`python -m triton_platform.promote` still works).
"""
