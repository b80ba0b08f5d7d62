"""Triton pods do not keep cluster-autoscaler from removing their node (issue 14, item 6).

cluster-autoscaler does not drain a node whose pods hold local storage unless each such volume is
listed in the pod annotation ``cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes``
(``--skip-nodes-with-local-storage`` defaults to true; FAQ "What types of pods can prevent CA from
removing a node?"). ``has_blocking_local_storage`` below is kubernetes/autoscaler
cluster-autoscaler-1.31.0 cluster-autoscaler/utils/drain/drain.go ``HasBlockingLocalStorage``,
``getNonBlockingVolumes`` and ``isLocalVolume``, line by line: a hostPath, or an emptyDir whose
medium is not Memory, is local; the annotation is split on "," with no trimming.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import SCENARIO_NAMES, Rendered, parse, render
from triton_platform.clouds import azure as az

pytestmark = pytest.mark.chart
ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"


def _is_local_volume(volume: dict[str, Any]) -> bool:
    empty_dir = volume.get("emptyDir")
    return volume.get("hostPath") is not None or (empty_dir is not None and empty_dir.get("medium") != "Memory")


def has_blocking_local_storage(pod: dict[str, Any]) -> bool:
    value = (pod["metadata"].get("annotations") or {}).get(ANNOTATION, "")
    non_blocking = set(value.split(",")) if value != "" else set()
    return any(_is_local_volume(v) and v["name"] not in non_blocking for v in pod["spec"].get("volumes", []))


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_no_scenario_blocks_scale_down(rendered: dict[str, Rendered], name: str) -> None:
    pod = rendered[name].deployment["spec"]["template"]
    # The chart's own disk-backed emptyDirs are there (they did block before) ...
    assert {"tmp", "home"} <= {v["name"] for v in pod["spec"]["volumes"] if _is_local_volume(v)}
    # ... and every one is named in the annotation.
    assert not has_blocking_local_storage(pod), pod["metadata"].get("annotations")


def test_extra_empty_dirs_are_listed_and_the_users_annotations_kept(helm: Path, tmp_path: Path) -> None:
    # The AKS keyless model mirror is an extra emptyDir (triton_platform/clouds/azure.py model_sync_values).
    sync = az.model_sync_values(
        image="mcr.microsoft.com/azure-cli:2.67.0",
        script="true",
        account="acct",
        container="models",
        prefix="models",
        interval_seconds=30,
    )
    extra = {
        **sync,
        "extraVolumes": [*sync["extraVolumes"], {"name": "scratch", "emptyDir": {"medium": "Memory"}}],
        "podAnnotations": {"example.com/owner": "ml"},
    }
    values = tmp_path / "extra.yaml"
    values.write_text(yaml.safe_dump(extra))
    docs = parse(render(helm, [values]))
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deploy["spec"]["template"]
    assert not has_blocking_local_storage(pod)
    annotations = pod["metadata"]["annotations"]
    assert annotations[ANNOTATION] == f"tmp,home,{az.SYNC_VOLUME}"
    assert annotations["example.com/owner"] == "ml"


def test_the_annotation_can_be_turned_off(helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "off.yaml"
    values.write_text(yaml.safe_dump({"safeToEvictLocalVolumes": False}))
    (deploy,) = [d for d in parse(render(helm, [values])) if d["kind"] == "Deployment"]
    assert has_blocking_local_storage(deploy["spec"]["template"])
