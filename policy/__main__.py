"""Entry point the Pulumi CLI runs for `--policy-pack policy` (python -u <pack dir>): serve the pack."""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a directory, sys.path[0] is policy/; the pack's modules import as the `policy` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.policies import PACK_NAME, build_policies

PolicyPack(name=PACK_NAME, policies=build_policies())
