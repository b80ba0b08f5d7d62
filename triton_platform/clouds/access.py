"""Who may use a cloud cluster's Kubernetes API (``cluster.access``): each cloud's principals and roles.

Plain facts and checks, no Pulumi. ``cluster.access`` lists ``admins`` and ``viewers``; each
cloud grants them with its own mechanism, and the README's one-time setup names exactly the
roles here (a test derives them from this module):

- EKS (authentication mode ``API``): an access entry per IAM principal ARN plus an access policy
  association, scope ``cluster`` (EKS API reference, CreateAccessEntry / AssociateAccessPolicy;
  the policy ARNs from the EKS user guide, "Review access policy permissions"). The cluster
  creator already has an entry with the admin policy (``bootstrapClusterCreatorAdminPermissions``):
  creating it again fails with ResourceInUseException. Which principal that is, is recorded once,
  when the cluster is created, in its ``EKS_CREATOR_TAG`` tag (``eks_creator``), so a later
  ``pulumi up`` by another identity skips the same principal (``same_iam_principal``).
- AKS (Entra ID + Azure RBAC): *Azure Kubernetes Service Cluster User Role*, which allows
  ``listClusterUserCredential/action`` (the kubeconfig), plus the RBAC role that authorizes the
  Kubernetes API (role definition ids from learn.microsoft.com/azure/role-based-access-control/
  built-in-roles, "Containers").
- GKE: project IAM roles, which GKE's authorizer maps to Kubernetes permissions
  (cloud.google.com/kubernetes-engine/docs/how-to/iam, "Predefined GKE roles").
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

Level = Literal["admins", "viewers"]
LEVELS: tuple[Level, ...] = ("admins", "viewers")

# --- EKS ----------------------------------------------------------------------------------------
# arn:<partition>:iam::<12-digit account>:(role|user)/<optional path/>name (IAM identifiers:
# names are [\w+=,.@-], paths /[\x21-\x7e]*/).
EKS_PRINCIPAL = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):(role|user)/([\x21-\x7e]*/)?([\w+=,.@-]{1,64})$")
EKS_ACCESS_POLICIES: dict[str, str] = {
    "admins": "AmazonEKSClusterAdminPolicy",
    "viewers": "AmazonEKSViewPolicy",
}
EKS_EXAMPLE = "arn:aws:iam::123456789012:role/triton-deploy"


def eks_access_policy_arn(level: Level, partition: str = "aws") -> str:
    """``arn:<partition>:eks::aws:cluster-access-policy/<policy>`` for ``level``."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{EKS_ACCESS_POLICIES[level]}"


def _iam_identity(arn: str) -> tuple[str, str, str] | None:
    """(account, kind, name) of an IAM role/user ARN or an STS assumed-role ARN; None otherwise."""
    m = EKS_PRINCIPAL.match(arn)
    if m:
        return m.group(2), m.group(3), m.group(5)
    # sts GetCallerIdentity of a role session: arn:aws:sts::<account>:assumed-role/<name>/<session>
    m = re.match(r"^arn:aws(-cn|-us-gov)?:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+$", arn)
    if m:
        return m.group(2), "role", m.group(3)
    return None


def same_iam_principal(configured: str, caller_arn: str) -> bool:
    """Whether ``configured`` (a role/user ARN) is the identity ``caller_arn`` (GetCallerIdentity's Arn).

    Role names are unique in an account whatever their path, and the STS ARN drops the path.
    """
    a, b = _iam_identity(configured), _iam_identity(caller_arn)
    return a is not None and a == b


# The cluster creator. CreateCluster with accessConfig.bootstrapClusterCreatorAdminPermissions
# gives "the cluster creator IAM principal" an admin access entry (EKS API reference,
# AccessConfigResponse); EKS names it by the IAM role or user ARN, never the STS session (access
# entries take no STS session principal: CreateAccessEntry, principalArn), path included (an SSO
# role's entry is arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/<region>/<name>,
# terraform-aws-modules/terraform-aws-eks#2969, which uses aws_iam_session_context.issuer_arn for
# it). The EKS API does not say who created a cluster, so the cluster records it itself: this tag,
# set at creation and never updated (ignore_changes), read back with DescribeCluster.
EKS_CREATOR_TAG = "triton-platform/creator"
# EKS tag values: up to 256 letters, numbers, spaces and + - = . _ : / @ (the EKS tag
# restrictions, CloudFormation AWS::EKS::AccessEntry Tag); an IAM name may hold a comma, which
# then goes unrecorded (eks_creator falls back to the caller and says so).
_EKS_TAG_VALUE = re.compile(r"^[\w +=.:/@-]{1,256}$")
_STS_ROLE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+$")


def iam_principal_arn(caller_arn: str) -> str:
    """The IAM ARN behind GetCallerIdentity's ``Arn``: a role session names its role (path unknown)."""
    m = _STS_ROLE.match(caller_arn)
    return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else caller_arn


def creator_tag(caller_arn: str) -> dict[str, str]:
    """``{EKS_CREATOR_TAG: <IAM ARN>}`` for the cluster ``caller_arn`` creates (empty if no tag can hold it)."""
    principal = iam_principal_arn(caller_arn)
    return {EKS_CREATOR_TAG: principal} if _EKS_TAG_VALUE.match(principal) else {}


class EksCreator(NamedTuple):
    """Who holds the bootstrap admin entry of one cluster, and why that is the answer."""

    principal: str | None  # an IAM ARN (or STS session ARN) to compare with same_iam_principal
    warning: str | None = None

    def created(self, configured: str) -> bool:
        """Whether the configured ``admins``/``viewers`` ARN is the creator (it has its entry)."""
        return self.principal is not None and same_iam_principal(configured, self.principal)


def eks_creator(cluster_name: str, caller_arn: str, existing_tags: dict[str, str] | None) -> EksCreator:
    """The creator of ``cluster_name``: the caller when the cluster does not exist yet
    (``existing_tags`` None: this run creates it), else its recorded ``EKS_CREATOR_TAG``.

    A cluster without the tag (created before it was recorded, or by a name no tag holds) falls
    back to the caller, with a warning that says how to record the creator.
    """
    if existing_tags is None:
        return EksCreator(caller_arn)
    recorded = existing_tags.get(EKS_CREATOR_TAG)
    if recorded:
        return EksCreator(recorded)
    return EksCreator(
        caller_arn,
        f"EKS cluster {cluster_name!r} has no {EKS_CREATOR_TAG!r} tag, so which cluster.access entry EKS "
        f"created for its creator is unknown; assuming the identity running this update ({caller_arn}). "
        f"Record the creator once: aws eks tag-resource --resource-arn <cluster ARN> "
        f"--tags {EKS_CREATOR_TAG}=<IAM role or user ARN that created the cluster>",
    )


# --- AKS ----------------------------------------------------------------------------------------
AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3473bcc0fb"  # Azure Kubernetes Service Cluster User Role
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"  # Azure Kubernetes Service RBAC Cluster Admin
AKS_RBAC_READER = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"  # Azure Kubernetes Service RBAC Reader
AKS_ROLE_NAMES = {
    AKS_CLUSTER_USER: "Azure Kubernetes Service Cluster User Role",
    AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    AKS_RBAC_READER: "Azure Kubernetes Service RBAC Reader",
}
AKS_ACCESS_ROLES: dict[str, tuple[str, ...]] = {
    "admins": (AKS_CLUSTER_USER, AKS_RBAC_CLUSTER_ADMIN),
    "viewers": (AKS_CLUSTER_USER, AKS_RBAC_READER),
}
# A role assignment's principalType (Microsoft.Authorization roleAssignments, PrincipalType enum).
AKS_PRINCIPAL_TYPES = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}
_GUID = r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
AKS_PRINCIPAL = re.compile(rf"^((user|group|servicePrincipal):)?({_GUID})$")
AKS_EXAMPLE = "servicePrincipal:00000000-0000-0000-0000-000000000000"
# The Azure CLI's public client application id: a client config with this clientId is a person
# signed in with `az login` (Microsoft's "first-party applications" list; azure-cli's
# _AZURE_CLI_CLIENT_ID); a federated service principal reports its own app id.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


class AksPrincipal(NamedTuple):
    object_id: str
    principal_type: str  # User | Group | ServicePrincipal


def aks_principal(entry: str) -> AksPrincipal:
    """``[user:|group:|servicePrincipal:]<object id>`` (a bare id is a user), or ValueError."""
    m = AKS_PRINCIPAL.match(entry)
    if not m:
        raise ValueError(f"{entry!r} is not [user:|group:|servicePrincipal:]<Entra object id> (e.g. {AKS_EXAMPLE!r})")
    return AksPrincipal(m.group(3).lower(), AKS_PRINCIPAL_TYPES[m.group(2) or "user"])


def deployer_principal_type(client_id: str | None) -> str:
    """The principalType of whoever runs `pulumi up`: a person through the Azure CLI, else a service principal."""
    return "User" if (client_id or "").lower() == AZURE_CLI_CLIENT_ID else "ServicePrincipal"


# --- GKE ----------------------------------------------------------------------------------------
GKE_ACCESS_ROLES: dict[str, str] = {"admins": "roles/container.admin", "viewers": "roles/container.viewer"}
# IAM policy members (IAM reference, "Principal identifiers"): user:, group:, serviceAccount:,
# and workload/workforce identity federation principal:// and principalSet://.
GKE_MEMBER = re.compile(r"^((user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+|(principal|principalSet)://\S+)$")
GKE_EXAMPLE = "serviceAccount:deploy@my-project.iam.gserviceaccount.com"

PRINCIPAL_FORMS = {
    "aws": (EKS_PRINCIPAL, f"an IAM role or user ARN, e.g. {EKS_EXAMPLE!r}"),
    "azure": (AKS_PRINCIPAL, f"an Entra object id, optionally typed, e.g. {AKS_EXAMPLE!r}"),
    "gcp": (GKE_MEMBER, f"an IAM member, e.g. {GKE_EXAMPLE!r}"),
}


def principal_issue(cloud: str, entry: str) -> str | None:
    """Why ``entry`` is not a principal of ``cloud`` (None when it is, or the cloud has none)."""
    form = PRINCIPAL_FORMS.get(cloud)
    if form is None or form[0].match(entry):
        return None
    return f"{entry!r} is not {form[1]}"


def any_principal(entry: str) -> str:
    """The schema's per-entry check: a principal of some cloud (the rules match it to the chosen one)."""
    if any(pattern.match(entry) for pattern, _ in PRINCIPAL_FORMS.values()):
        return entry
    raise ValueError(
        f"{entry!r} is no cloud principal: {EKS_EXAMPLE!r} (EKS), {AKS_EXAMPLE!r} (AKS) or {GKE_EXAMPLE!r} (GKE)"
    )
