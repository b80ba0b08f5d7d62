"""Pulumi mock runtime that records every registered resource for assertions.

One set of mocks serves every composition (local, AWS, GCP, Azure): it fills in the computed
outputs the stacks read (bucket suffixes, identities, issuer URLs, keys opted into) with fixed
values the tests look for (``MOCK_*``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
from google.protobuf import json_format
from pulumi.runtime import rpc

# How a secret travels to the engine: {SECRET_SIG: <Pulumi's secret marker>, "value": ...}.
SECRET_SIG = rpc._special_sig_key

# Computed outputs the mocks hand out, for tests to look for by value.
MOCK_RANDOM_HEX = "0a1b2c3d"  # random.RandomId.hex: generated bucket suffixes
MOCK_RANDOM_STRING = "ab12cd34"  # random.RandomString.result: storage account suffixes
MOCK_AWS_SECRET_KEY = "mock-aws-secret-access-key-value"  # aws.iam.AccessKey.secret
MOCK_HMAC_ID = "GOOG1EMOCKACCESSID"  # gcp.storage.HmacKey.accessId
MOCK_HMAC_SECRET = "mock-gcs-hmac-secret-value"  # gcp.storage.HmacKey.secret
MOCK_STORAGE_KEY = "bW9jay1zdG9yYWdlLWFjY291bnQta2V5"  # azure-native listStorageAccountKeys
MOCK_AKS_PRINCIPAL_ID = "11111111-0000-0000-0000-0000000aks00"  # the AKS cluster's system identity
MOCK_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
# aws.getAvailabilityZones of an account where us-east-1c is use1-az4 (the refused use1-az3 is "e").
MOCK_US_EAST_1_ZONES: dict[str, list[str]] = {
    "names": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
    "zoneIds": ["use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az5"],
}
MOCK_EKS_CLUSTER_SG = "sg-0mockeksclustersg"  # aws.eks.Cluster vpcConfig.clusterSecurityGroupId
# What listManagedClusterUserCredentials(format="exec") returns for an Entra ID cluster: a
# kubelogin exec user in devicecode mode, with AKS' server and client application ids
# (Azure/kubelogin docs/book/src/concepts/aks.md).
MOCK_AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
MOCK_AKS_AAD_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: mock-aks
  cluster:
    certificate-authority-data: bW9jaw==
    server: https://mock-aks.hcp.westeurope.azmk8s.io:443
contexts:
- name: mock-aks
  context: {{cluster: mock-aks, user: clusterUser_rg_mock-aks}}
current-context: mock-aks
users:
- name: clusterUser_rg_mock-aks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, {MOCK_AKS_SERVER_ID},
             --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, t, --login, devicecode]
      env: null
      installHint: kubelogin is not installed
      provideClusterInfo: false
"""

# The input that names each Azure resource; azure-native returns it as the `name` output.
AZURE_NAME_INPUTS = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:containerservice:ManagedCluster": "resourceName",
    "azure-native:containerservice:AgentPool": "agentPoolName",
    "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
    "azure-native:network:VirtualNetwork": "virtualNetworkName",
    "azure-native:network:Subnet": "subnetName",
}


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None
    urn: str
    custom: bool


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Returns inputs as outputs (plus a few computed fields) and records every resource."""

    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # name -> (type, parent URN, dependency URNs), as the engine receives them.
    registrations: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    # name -> the retainOnDelete option the engine receives.
    retained: dict[str, bool] = field(default_factory=dict)
    # name -> inputs as sent on the wire, secrets still in Pulumi's envelope (see SECRET_SIG).
    wire_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Fully qualified stack name -> the stack outputs a pulumi.StackReference to it reads.
    stack_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Function results a test sets, by token (e.g. getAvailabilityZones of another account),
    # and the zone ids getInstanceTypeOfferings reports per instance type (default: every zone).
    call_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    instance_type_zones: dict[str, list[str]] = field(default_factory=dict)

    def install(self, stack: str = "test") -> None:
        """Set these mocks as the runtime and record what each registration asks of the engine.

        ``new_resource`` does not see parents, dependencies or options; the mock monitor's
        RegisterResource request does.
        """
        pulumi.runtime.set_mocks(self, project="triton-platform", stack=stack, preview=False)
        monitor: Any = pulumi.runtime.settings.get_monitor()
        original = monitor.RegisterResource

        def register(request: Any) -> Any:
            self.registrations[request.name] = (request.type, request.parent, list(request.dependencies))
            self.retained[request.name] = request.retainOnDelete
            self.wire_inputs[request.name] = json_format.MessageToDict(request.object)
            return original(request)

        monitor.RegisterResource = register

    def parent_of(self, name: str) -> str:
        return self.registrations[name][1]

    def dependency_names(self, name: str) -> set[str]:
        """The names of the resources a registration depends on (depends_on and inputs)."""
        return {urn.rsplit("::", 1)[-1] for urn in self.registrations[name][2]}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        t = args.typ
        if t == "pulumi:pulumi:StackReference":
            # What the engine's read of a stack returns (pulumi/stack_reference.py reads `outputs`).
            stack = str(args.resource_id or args.inputs.get("name"))
            outputs.update(name=stack, outputs=self.stack_outputs.get(stack, {}), secretOutputNames=[])
        # Computed outputs that real providers fill in and compositions read.
        if t == "kubernetes:core/v1:Namespace":
            outputs.setdefault("metadata", {}).setdefault("name", args.name)
        if t == "command:local:Command":
            outputs.setdefault("stdout", MOCK_KUBECONFIG)
        if t == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "mock-password-" + args.name
        if t == "random:index/randomString:RandomString":
            outputs["result"] = MOCK_RANDOM_STRING
        if t == "random:index/randomId:RandomId":
            outputs["hex"] = MOCK_RANDOM_HEX
        if t == "aws:iam/accessKey:AccessKey":
            outputs["secret"] = MOCK_AWS_SECRET_KEY
        if t == "gcp:storage/hmacKey:HmacKey":
            outputs.update(accessId=MOCK_HMAC_ID, secret=MOCK_HMAC_SECRET)
        if t == "aws:eks/cluster:Cluster":
            outputs.update(
                endpoint="https://mock.eks.amazonaws.com",
                certificateAuthority={"data": "bW9jaw=="},
                identities=[{"oidcs": [{"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/MOCK"}]}],
                arn=f"arn:aws:eks:us-east-1:123456789012:cluster/{args.name}",
                vpcConfig={**(args.inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": MOCK_EKS_CLUSTER_SG},
            )
        if t == "aws:eks/nodeGroup:NodeGroup":
            # The Auto Scaling group EKS creates for a managed node group (eks-<group>-<uuid>).
            outputs["resources"] = [{"autoscalingGroups": [{"name": f"eks-{args.name}-mock"}]}]
        if t.startswith("aws:") and "arn" not in outputs:
            outputs["arn"] = f"arn:aws:mock::123456789012:{args.name}"
        if t == "aws:s3/bucket:Bucket" or t == "aws:s3/bucketV2:BucketV2":
            outputs.setdefault("bucket", args.inputs.get("bucket", args.name))
        if t == "gcp:container/cluster:Cluster":
            outputs.update(endpoint="10.0.0.1", masterAuth={"clusterCaCertificate": "bW9jaw=="})
        if t == "gcp:serviceaccount/account:Account":
            aid = args.inputs.get("accountId", args.name)
            outputs.update(
                email=f"{aid}@mock-project.iam.gserviceaccount.com", name=f"projects/mock-project/serviceAccounts/{aid}"
            )
        if t == "azure-native:managedidentity:UserAssignedIdentity":
            outputs.update(
                clientId="00000000-0000-0000-0000-00000000c1d0", principalId="00000000-0000-0000-0000-0000000091d0"
            )
        if t == "azure-native:containerservice:ManagedCluster":
            outputs.update(
                oidcIssuerProfile={"enabled": True, "issuerURL": "https://oidc.mock.azure.com/"},
                identity={"type": "SystemAssigned", "principalId": MOCK_AKS_PRINCIPAL_ID},
            )
        name_input = AZURE_NAME_INPUTS.get(t)
        if name_input and args.inputs.get(name_input):
            outputs["name"] = args.inputs[name_input]
        self.resources.append(
            Registered(
                t,
                args.name,
                dict(args.inputs),
                args.provider,
                f"urn:pulumi:test::triton-platform::{t}::{args.name}",
                bool(args.custom),
            )
        )
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append((args.token, dict(args.args)))
        return self._call(args), []

    def _call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token in self.call_results:
            return self.call_results[args.token]
        if args.token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            return self._instance_type_offerings(args.args)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/mock", "userId": "mock"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "us-east-1", "region": "us-east-1"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            # DescribeAvailabilityZones: us-east-1 has six zones; names map to ids per account.
            return dict(MOCK_US_EAST_1_ZONES)
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "c",
                "objectId": "o",
                "subscriptionId": "00000000-0000-0000-0000-000000000000",
                "tenantId": "t",
            }
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            text = MOCK_AKS_AAD_KUBECONFIG if args.args.get("format") == "exec" else MOCK_KUBECONFIG
            kubeconfig = base64.b64encode(text.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": kubeconfig}]}
        if args.token == "azure-native:storage:listStorageAccountKeys":
            return {
                "keys": [{"keyName": "key1", "value": MOCK_STORAGE_KEY, "permissions": "FULL", "creationTime": "x"}]
            }
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": "123456789", "projectId": args.args.get("projectId", "mock-project")}
        return {}

    def _instance_type_offerings(self, call_args: dict[str, Any]) -> dict[str, Any]:
        """DescribeInstanceTypeOfferings by availability-zone-id: parallel instanceTypes/locations lists."""
        wanted = [v for f in call_args.get("filters") or [] if f.get("name") == "instance-type" for v in f["values"]]
        types, locations = [], []
        for instance_type in wanted:
            for zone_id in self.instance_type_zones.get(instance_type, MOCK_US_EAST_1_ZONES["zoneIds"]):
                types.append(instance_type)
                locations.append(zone_id)
        return {
            "id": "us-east-1",
            "instanceTypes": types,
            "locations": locations,
            "locationTypes": [call_args.get("locationType", "region")] * len(locations),
        }

    # Helpers for assertions -------------------------------------------------
    def of_type(self, t: str) -> list[Registered]:
        return [r for r in self.resources if r.type == t]

    def one(self, t: str) -> Registered:
        """The single resource of a type (fails listing what there is otherwise)."""
        found = self.of_type(t)
        assert len(found) == 1, f"expected one {t}, got {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registered:
        matches = [r for r in self.resources if r.name == name]
        assert matches, f"no resource named {name!r}; have {[r.name for r in self.resources]}"
        return matches[0]

    def release(self, chart_contains: str) -> Registered:
        """The single Helm release whose chart (name or path) contains ``chart_contains``."""
        matches = [
            r for r in self.of_type("kubernetes:helm.sh/v3:Release") if chart_contains in str(r.inputs.get("chart"))
        ]
        assert len(matches) == 1, f"expected one release of {chart_contains!r}; have {self.dump()}"
        return matches[0]

    def service_account(self, name: str) -> Registered:
        """The single Kubernetes ServiceAccount called ``name`` (its metadata name)."""
        (sa,) = [s for s in self.of_type("kubernetes:core/v1:ServiceAccount") if s.inputs["metadata"]["name"] == name]
        return sa

    def dump(self) -> str:
        return json.dumps([(r.type, r.name) for r in self.resources], indent=1)


@dataclass
class ProgramResult:
    """A program's outputs after every registration finished: values and which are secret."""

    values: dict[str, Any]
    secret: set[str]


def run_program(program: Any, check: Callable[[], pulumi.Output[Any] | None] | None = None) -> ProgramResult:
    """Run ``program() -> dict[str, Output|value]`` under the mock runtime and wait for all of it.

    ``pulumi.runtime.test`` waits for every outstanding registration before it returns, so
    assertions on the recorded resources made afterwards see the whole graph. ``check``, run
    after the program, may return an Output whose own assertions (in ``apply``) are awaited
    too: the way to assert on Outputs that are not stack outputs.
    """
    result = ProgramResult({}, set())

    @pulumi.runtime.test
    def _run() -> pulumi.Output[Any]:
        outputs: dict[str, Any] = program()

        async def resolve() -> None:
            for key, value in outputs.items():
                out = pulumi.Output.from_input(value)
                result.values[key] = await out.future()
                if await out.is_secret():
                    result.secret.add(key)

        resolved: pulumi.Output[None] = pulumi.Output.from_input(resolve())
        extra = check() if check else None
        return pulumi.Output.all(resolved, extra)

    _run()
    return result


def secret_flag(o: pulumi.Output[Any]) -> pulumi.Output[bool]:
    """Whether an Output is marked secret, as an Output the test runtime awaits."""
    return pulumi.Output.from_input(cast(Awaitable[bool], o.is_secret()))
