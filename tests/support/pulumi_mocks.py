"""Pulumi mock runtime that records every registered resource for assertions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi


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

    def install(self) -> None:
        """Set these mocks as the runtime and record each registration's parent and dependencies.

        ``new_resource`` does not see parents; the mock monitor's RegisterResource request does.
        """
        pulumi.runtime.set_mocks(self, project="triton-platform", stack="test", preview=False)
        monitor: Any = pulumi.runtime.settings.get_monitor()
        original = monitor.RegisterResource

        def register(request: Any) -> Any:
            self.registrations[request.name] = (request.type, request.parent, list(request.dependencies))
            return original(request)

        monitor.RegisterResource = register

    def parent_of(self, name: str) -> str:
        return self.registrations[name][1]

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        t = args.typ
        # Computed outputs that real providers fill in and compositions read.
        if t == "kubernetes:core/v1:Namespace":
            outputs.setdefault("metadata", {}).setdefault("name", args.name)
        if t == "command:local:Command":
            outputs.setdefault("stdout", "apiVersion: v1\nkind: Config\nclusters: []\n")
        if t == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "mock-password-" + args.name
        if t == "aws:eks/cluster:Cluster":
            outputs.update(
                endpoint="https://mock.eks.amazonaws.com",
                certificateAuthority={"data": "bW9jaw=="},
                identities=[{"oidcs": [{"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/MOCK"}]}],
                arn=f"arn:aws:eks:us-east-1:123456789012:cluster/{args.name}",
            )
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
            outputs.update(oidcIssuerProfile={"enabled": True, "issuerURL": "https://oidc.mock.azure.com/"})
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
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/mock", "userId": "mock"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "us-east-1", "region": "us-east-1"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": ["us-east-1a", "us-east-1b", "us-east-1c"],
                "zoneIds": ["use1-az1", "use1-az2", "use1-az3"],
            }
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "c",
                "objectId": "o",
                "subscriptionId": "00000000-0000-0000-0000-000000000000",
                "tenantId": "t",
            }
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": "123456789", "projectId": args.args.get("projectId", "mock-project")}
        return {}

    # Helpers for assertions -------------------------------------------------
    def of_type(self, t: str) -> list[Registered]:
        return [r for r in self.resources if r.type == t]

    def named(self, name: str) -> Registered:
        matches = [r for r in self.resources if r.name == name]
        assert matches, f"no resource named {name!r}; have {[r.name for r in self.resources]}"
        return matches[0]

    def dump(self) -> str:
        return json.dumps([(r.type, r.name) for r in self.resources], indent=1)


@dataclass
class ProgramResult:
    """A program's outputs after every registration finished: values and which are secret."""

    values: dict[str, Any]
    secret: set[str]


def run_program(program: Any) -> ProgramResult:
    """Run ``program() -> dict[str, Output|value]`` under the mock runtime and wait for all of it.

    ``pulumi.runtime.test`` waits for every outstanding registration before it returns, so
    assertions on the recorded resources made afterwards see the whole graph.
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

        return pulumi.Output.from_input(resolve())

    _run()
    return result
