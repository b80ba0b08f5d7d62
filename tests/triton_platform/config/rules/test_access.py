"""Validation of ``cluster.apiAccessCidrs``, ``cluster.privateEndpoint`` and ``cluster.aks`` (issue 7, items 9-10).

Each bad value must fail before any resource, naming the key (with the entry's index), why,
and a valid example. The rules come from the clouds' own documentation, cited in
triton_platform/config/rules/access.py: EKS takes IPv4 public-access CIDRs only for an IPv4 cluster
(EKS API VpcConfigRequest.publicAccessCidrs); AKS cannot combine authorized IP ranges with a
private cluster (AKS "API server authorized IP ranges").
"""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error, parse_stack, set_key
from triton_platform.config import entra_object_id, ipv4_cidr

AWS, GCP, AZURE, LOCAL = "prod", "staging", "prod-azure", "dev"
KEY = "triton-platform:cluster.apiAccessCidrs"


def test_defaults_keep_today_reachability_and_entra_id_on() -> None:
    for stack in (AWS, GCP, AZURE):
        c = parse_stack(stack).cluster
        assert c.api_access_cidrs is None
        assert c.private_endpoint is False
        assert c.aks.local_accounts is False  # the escape hatch is off by default
        assert c.aks.admin_group_object_ids == []


@pytest.mark.parametrize("stack", [AWS, GCP, AZURE])
def test_api_access_cidrs_are_kept_in_order(stack: str) -> None:
    cidrs = ["203.0.113.0/24", "198.51.100.7/32"]
    assert parse_stack(stack, set_key("cluster.apiAccessCidrs", cidrs)).cluster.api_access_cidrs == cidrs


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("203.0.113.5/24", "has host bits set; the network is '203.0.113.0/24'"),
        ("198.51.100.7", "has no prefix length; write a CIDR block, e.g. '198.51.100.7/32'"),
        ("2001:db8::/32", "is an IPv6 block"),
        ("10.0.0.0/33", "is not a CIDR block"),
        ("office", "is not a CIDR block"),
    ],
)
def test_a_bad_cidr_names_its_entry_why_and_an_example(value: str, why: str) -> None:
    err = config_error(AWS, set_key("cluster.apiAccessCidrs", ["203.0.113.0/24", value]))
    (issue,) = err.issues
    assert issue.key == f"{KEY}[1]"
    assert why in issue.reason
    assert issue.example == "['203.0.113.0/24']"
    assert f"{KEY}[1]: " in str(err)
    assert "(example: ['203.0.113.0/24'])" in str(err)


def test_an_empty_list_is_refused_with_what_to_do() -> None:
    (issue,) = config_error(GCP, set_key("cluster.apiAccessCidrs", [])).issues
    assert issue.key == KEY
    assert "leave the key out" in issue.reason
    assert issue.example == "['203.0.113.0/24']"


def test_private_endpoint_with_cidrs_is_refused_on_aks_only() -> None:
    private, cidrs = set_key("cluster.privateEndpoint", True), set_key("cluster.apiAccessCidrs", ["10.8.0.0/24"])
    # (A private AKS cluster also needs cluster.aks.vnetSubnetId: rules.access_grants, issue 15.)
    (issue,) = [i for i in config_error(AZURE, private, cidrs).issues if i.key == KEY]
    assert "private cluster" in issue.reason
    # EKS grants the CIDRs on the cluster security group, GKE enforces authorized networks on
    # the private endpoint (tests/stacks/test_cluster_access.py).
    for stack in (AWS, GCP):
        assert parse_stack(stack, private, cidrs).cluster.private_endpoint is True


@pytest.mark.parametrize("key", ["cluster.apiAccessCidrs", "cluster.privateEndpoint"])
def test_access_keys_do_not_apply_to_kind(key: str) -> None:
    value = ["127.0.0.0/8"] if key.endswith("Cidrs") else True
    (issue,) = config_error(LOCAL, set_key(key, value)).issues
    assert issue.key == f"triton-platform:{key}"


def test_aks_options_apply_to_azure_only() -> None:
    (issue,) = config_error(AWS, set_key("cluster.aks.localAccounts", True)).issues
    assert issue.key == "triton-platform:cluster.aks"
    assert parse_stack(AZURE, set_key("cluster.aks.localAccounts", True)).cluster.aks.local_accounts is True


def test_admin_group_ids_must_be_object_ids() -> None:
    (issue,) = config_error(AZURE, set_key("cluster.aks.adminGroupObjectIds", ["ml-admins"])).issues
    assert issue.key == "triton-platform:cluster.aks.adminGroupObjectIds[0]"
    assert "not an Entra ID object id" in issue.reason
    assert issue.example == "['00000000-0000-0000-0000-000000000000']"


def test_unknown_access_keys_are_errors() -> None:
    (issue,) = config_error(AZURE, set_key("cluster.aks.localAccount", True)).issues
    assert issue.key == "triton-platform:cluster.aks.localAccount"
    assert "unknown key" in issue.reason


def test_plain_validators() -> None:
    assert ipv4_cidr(" 10.0.0.0/8 ") == "10.0.0.0/8"
    assert entra_object_id("5E0C4A6F-1B2C-4D3E-8F90-0123456789AB") == "5e0c4a6f-1b2c-4d3e-8f90-0123456789ab"
    with pytest.raises(ValueError, match="IPv6"):
        ipv4_cidr("::/0")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cluster.privateEndpoint", "sometimes"),
        ("cluster.aks.localAccounts", "perhaps"),
        ("cluster.apiAccessCidrs", "203.0.113.0/24"),  # one string, not a list
    ],
)
def test_wrong_types_are_named(key: str, value: object) -> None:
    err = config_error(AZURE, set_key(key, value))
    assert any(k.startswith(f"triton-platform:{key}") for k in err.keys), str(err)
