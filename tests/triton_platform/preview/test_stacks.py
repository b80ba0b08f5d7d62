"""Which stacks CI previews, their deploy order and their policy-pack config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triton_platform.preview import stacks


def _write(root: Path, name: str, config: dict[str, object]) -> None:
    import yaml

    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_the_repository_stacks() -> None:
    found = stacks.discover(Path("."))
    names = [s.stack for s in found]
    assert set(names) >= {"dev", "staging", "prod", "prod-azure"}
    by = {s.stack: s for s in found}
    assert not by["dev"].previewable  # kind on a developer's machine
    assert by["staging"].cloud == "gcp"
    assert by["prod"].cloud == "aws"
    assert by["prod-azure"].cloud == "azure"
    assert by["prod"].production
    assert by["prod-azure"].production
    assert not by["staging"].production
    assert names.index("staging") < names.index("prod") < names.index("prod-azure")
    rows = stacks.matrix(found, previewable_only=True)["include"]
    assert "dev" not in {r["stack"] for r in rows}
    assert all(r["environment"].startswith("production-") == r["production"] for r in rows)


def test_promotion_order_follows_from_stack(tmp_path: Path) -> None:
    _write(tmp_path, "prod", {"triton-platform:cloud": "aws"})
    _write(tmp_path, "canary", {"triton-platform:cloud": "gcp", "triton-platform:release": {"fromStack": "prod-eu"}})
    _write(tmp_path, "prod-eu", {"triton-platform:cloud": "azure"})
    _write(tmp_path, "staging", {"triton-platform:cloud": "gcp"})
    names = [s.stack for s in stacks.discover(tmp_path)]
    assert names.index("staging") < names.index("prod")
    assert names.index("prod-eu") < names.index("canary")


def test_a_promotion_cycle_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "a", {"triton-platform:cloud": "aws", "triton-platform:release": {"fromStack": "b"}})
    _write(tmp_path, "b", {"triton-platform:cloud": "aws", "triton-platform:release": {"fromStack": "a"}})
    with pytest.raises(stacks.StackFileError, match="cycle"):
        stacks.discover(tmp_path)


def test_a_stack_without_cloud_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "x", {"triton-platform:models": []})
    with pytest.raises(stacks.StackFileError, match="triton-platform:cloud"):
        stacks.discover(tmp_path)


def test_policy_config_only_opts_in_when_the_stack_says_so(tmp_path: Path) -> None:
    assert stacks.policy_config(Path("Pulumi.prod.yaml")) == {
        "no-static-cloud-keys": {"allowStaticKeys": False},
        "triton-not-public": {"allowPublicLoadBalancer": False},
    }
    _write(
        tmp_path,
        "open",
        {
            "triton-platform:cloud": "aws",
            "triton-platform:modelRepository": {"staticKeys": True},
            "triton-platform:triton": {"service": {"type": "LoadBalancer", "internal": False}},
        },
    )
    assert stacks.policy_config(tmp_path / "Pulumi.open.yaml") == {
        "no-static-cloud-keys": {"allowStaticKeys": True},
        "triton-not-public": {"allowPublicLoadBalancer": True},
    }


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert stacks.main(["matrix"]) == 0
    rows = json.loads(capsys.readouterr().out)["include"]
    assert [r["stack"] for r in rows][:1] == ["staging"]
    assert stacks.main(["policy-config", "staging"]) == 0
    assert json.loads(capsys.readouterr().out)["triton-not-public"] == {"allowPublicLoadBalancer": False}


def test_clouds_keeps_only_the_configured_clouds(capsys: pytest.CaptureFixture[str]) -> None:
    assert stacks.main(["matrix", "--clouds", ""]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"include": []}
    assert "not previewed: staging (cloud gcp" in captured.err
    assert stacks.main(["matrix", "--clouds", "gcp, aws"]) == 0
    rows = json.loads(capsys.readouterr().out)["include"]
    assert [r["stack"] for r in rows] == ["staging", "prod"]
    with pytest.raises(SystemExit) as exc:
        stacks.main(["matrix", "--clouds", "aws,local"])
    assert exc.value.code == 2
    assert "unknown cloud 'local'" in capsys.readouterr().err
