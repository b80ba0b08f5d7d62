"""The S3 policies of Triton's reader and the engine builder, decided against their real S3 calls.

Each request is what AWS authorises for one API call: the IAM action, the resource ARN and the
request-context keys the call carries. Sources:

- Triton's calls: triton-inference-server/core ``src/filesystem/implementations/s3.h``
  (``CheckClient`` and ``IsDirectory`` send HeadBucket; ``IsDirectory`` and
  ``GetDirectoryContents`` send ListObjectsV2 with ``Prefix = AppendSlash(path)``;
  ``FileExists`` / ``FileModificationTime`` send HeadObject; ``ReadTextFile`` and
  ``LocalizePath`` send GetObject; every write method returns UNSUPPORTED) and
  ``src/model_repository_manager`` (GetDirectorySubdirs of the repository, ReadTextProto of
  each ``config.pbtxt``, LocalizePath of each model directory).
- The builder's calls: the Job script of ``triton_platform/publisher/builders/kubernetes_job.py``
  (``aws s3 cp`` down and up). aws-cli ``awscli/customizations/s3/filegenerator.py``
  ``_list_single_object`` sends HeadObject (not a listing) for one S3 source; s3transfer
  downloads with GetObject (ranged parts above 8 MiB) and uploads with PutObject or
  CreateMultipartUpload / UploadPart / CompleteMultipartUpload, AbortMultipartUpload on failure.
- Operation -> IAM action: AWS Service Authorization Reference, "Actions, resources, and
  condition keys for Amazon S3" (docs.aws.amazon.com/service-authorization/latest/reference/
  list_amazons3.html) and the API pages (HeadBucket: "you must have permissions to perform the
  s3:ListBucket action"; HeadObject: "you must have the s3:GetObject permission").
  ``s3:prefix`` is a ListBucket condition key set from the request's ``prefix`` parameter;
  HeadBucket has no such parameter, so the key is absent.
- Evaluation: IAM's documented logic, implemented by tests/support/iam_eval.py.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any

import pytest

from tests.support.iam_eval import Decision, Request, allowed, evaluate
from triton_platform.clouds import aws_iam
from triton_platform.publisher.builders import BuilderRef, EngineJob
from triton_platform.publisher.builders.kubernetes_job import job_manifest
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.ref import StoreRef, release_location, release_locations_root

BUCKET = "acme-models"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
PREFIX = "models"
CACHE = "_cache"
# A published repository as the publisher lays it out, plus what else lives in the bucket.
REPOSITORY = [
    "models/mlp/config.pbtxt",
    "models/mlp/1/model.onnx",
    "models/resnet/config.pbtxt",
    "models/resnet/1/model.plan",
    "models/resnet/1/sm80.plan",
    "models/resnet/labels.txt",
]
ELSEWHERE = [
    "_cache/onnx/" + "0" * 64 + ".onnx",
    "_cache/engines/resnet/abc/sm80.plan",
    "_cache/manifests/resnet/1.json",
    "models-staging/mlp/config.pbtxt",
    "secrets/credentials.json",
]


def obj(key: str) -> str:
    return f"{BUCKET_ARN}/{key}"


def list_request(prefix: str | None) -> Request:
    # ListObjectsV2 -> s3:ListBucket on the bucket; s3:prefix only when the request has a prefix.
    return Request("s3:ListBucket", BUCKET_ARN, {} if prefix is None else {"s3:prefix": prefix}, "ListObjectsV2")


HEAD_BUCKET = Request("s3:ListBucket", BUCKET_ARN, {}, "HeadBucket")


# --------------------------------------------------------------------------- the evaluator itself


def test_evaluator_follows_iams_documented_rules() -> None:
    """Cases stated in the IAM User Guide (condition operators, evaluation logic)."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}

    def one(statement: dict[str, Any], req: Request) -> Decision:
        return evaluate([{**doc, "Statement": [statement]}], req)

    ls = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET_ARN}
    # Absent key: a positive operator is false, a negated one true, ...IfExists true, Null tests presence.
    assert one({**ls, "Condition": {"StringLike": {"s3:prefix": "a/*"}}}, HEAD_BUCKET) is Decision.IMPLICIT_DENY
    assert one({**ls, "Condition": {"StringNotLike": {"s3:prefix": "a/*"}}}, HEAD_BUCKET) is Decision.ALLOW
    assert one({**ls, "Condition": {"StringLikeIfExists": {"s3:prefix": "a/*"}}}, HEAD_BUCKET) is Decision.ALLOW
    assert one({**ls, "Condition": {"StringLikeIfExists": {"s3:prefix": "a/*"}}}, list_request("b/")) is (
        Decision.IMPLICIT_DENY
    )
    assert one({**ls, "Condition": {"Null": {"s3:prefix": "true"}}}, HEAD_BUCKET) is Decision.ALLOW
    assert one({**ls, "Condition": {"Null": {"s3:prefix": "false"}}}, HEAD_BUCKET) is Decision.IMPLICIT_DENY
    # Values of one key are ORed, a negated operator holds when none matches; keys are case-insensitive.
    assert one({**ls, "Condition": {"StringEquals": {"S3:Prefix": ["x/", "a/"]}}}, list_request("a/")) is (
        Decision.ALLOW
    )
    assert one({**ls, "Condition": {"StringNotEquals": {"s3:prefix": ["x/", "a/"]}}}, list_request("a/")) is (
        Decision.IMPLICIT_DENY
    )
    # Set operators on an absent key: ForAllValues true, ForAnyValue false.
    assert one({**ls, "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": "k"}}}, HEAD_BUCKET) is (
        Decision.ALLOW
    )
    assert one({**ls, "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "k"}}}, HEAD_BUCKET) is (
        Decision.IMPLICIT_DENY
    )
    # Actions are case-insensitive with wildcards; NotAction; an explicit Deny beats any Allow.
    get = Request("s3:GetObject", obj("models/a"))
    assert one({"Effect": "Allow", "Action": "S3:Get*", "Resource": f"{BUCKET_ARN}/*"}, get) is Decision.ALLOW
    assert one({"Effect": "Allow", "NotAction": "s3:Put*", "Resource": "*"}, get) is Decision.ALLOW
    both = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/models/*"},
    ]
    assert evaluate([{**doc, "Statement": both}], get) is Decision.EXPLICIT_DENY
    # ARN segments match on their own; '*' in the resource segment spans '/'.
    assert one({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-*/m*"}, get) is (
        Decision.ALLOW
    )
    assert one({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}, get) is (
        Decision.IMPLICIT_DENY
    )
    assert one({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}, get) is Decision.EXPLICIT_DENY


# --------------------------------------------------------------------------- Triton's S3 filesystem


class TritonS3:
    """Records the requests Triton's ``S3FileSystem`` (core ``s3.h``) sends, on a bucket's keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = sorted(keys)
        self.requests: list[Request] = []

    # --- single API calls
    def head_bucket(self) -> None:
        self.requests.append(HEAD_BUCKET)

    def list_objects_v2(self, prefix: str) -> list[str]:
        self.requests.append(list_request(prefix))
        return [k for k in self.keys if k.startswith(prefix)]

    def head_object(self, key: str) -> bool:
        self.requests.append(Request("s3:GetObject", obj(key), {}, "HeadObject"))
        return key in self.keys

    def get_object(self, key: str) -> None:
        self.requests.append(Request("s3:GetObject", obj(key), {}, "GetObject"))

    # --- S3FileSystem methods, in s3.h's order of calls
    def is_directory(self, path: str) -> bool:
        self.head_bucket()
        if not path:
            return True
        return bool(self.list_objects_v2(path.rstrip("/") + "/"))  # AppendSlash

    def file_exists(self, path: str) -> bool:
        return self.is_directory(path) or self.head_object(path)

    def directory_contents(self, path: str) -> set[str]:
        full = path.rstrip("/") + "/"
        return {k[len(full) :].split("/")[0] for k in self.list_objects_v2(full) if k != full}

    def directory_subdirs(self, path: str) -> set[str]:
        return {d for d in self.directory_contents(path) if self.is_directory(f"{path}/{d}")}

    def read_text_file(self, path: str) -> None:
        assert self.file_exists(path), path
        self.get_object(path)

    def localize_path(self, path: str) -> None:
        assert self.file_exists(path), path
        pending = {f"{path}/{c}" for c in self.directory_contents(path)} if self.is_directory(path) else {path}
        while pending:
            current, pending = pending, set()
            for p in sorted(current):
                if self.is_directory(p):
                    pending |= {f"{p}/{c}" for c in self.directory_contents(p)}
                else:
                    self.get_object(p)

    def load_repository(self, repository: str) -> None:
        """CheckClient, then what the model repository manager does for each model."""
        self.head_bucket()  # filesystem/api.cc: CheckClient
        for model in sorted(self.directory_subdirs(repository)):
            # A model config name that is not set: FileExists of configs/<name>.pbtxt misses.
            self.file_exists(f"{repository}/{model}/configs/default.pbtxt")
            self.read_text_file(f"{repository}/{model}/config.pbtxt")
            self.directory_subdirs(f"{repository}/{model}")  # model_config_utils: version dirs
            self.localize_path(f"{repository}/{model}")  # backend_model.cc


def triton_requests() -> list[Request]:
    fs = TritonS3(REPOSITORY + ELSEWHERE)
    fs.load_repository(PREFIX)
    return fs.requests


def test_triton_load_sends_every_kind_of_call() -> None:
    calls = {r.call for r in triton_requests()}
    assert calls == {"HeadBucket", "ListObjectsV2", "HeadObject", "GetObject"}
    got = {r.resource for r in triton_requests() if r.call == "GetObject"}
    assert got == {obj(k) for k in REPOSITORY}  # the whole repository, nothing else


def test_reader_allows_every_call_triton_makes() -> None:
    # Fails with the main-branch policy: HeadBucket (s3:ListBucket, no s3:prefix) was denied,
    # which is Triton's "Could not get MetaData for bucket".
    doc = aws_iam.reader_policy(BUCKET_ARN, PREFIX)
    denied = [str(r) for r in triton_requests() if not allowed(doc, r)]
    assert not denied, denied


def test_a_prefix_condition_without_ifexists_is_what_broke_headbucket() -> None:
    broken = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": BUCKET_ARN,
                "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}/*"]}},
            }
        ],
    }
    assert allowed(broken, list_request("models/"))
    assert evaluate([broken], HEAD_BUCKET) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "prefix",
    ["_cache/", "_cache/onnx/", "models-staging/", "models", "model", "m", "secrets/", "", "/models/", "Models/"],
)
def test_reader_denies_listing_any_other_prefix(prefix: str) -> None:
    doc = aws_iam.reader_policy(BUCKET_ARN, PREFIX)
    # Explicit: no other policy attached to the principal can re-open it.
    assert evaluate([doc], list_request(prefix)) is Decision.EXPLICIT_DENY


def test_reader_residual_unprefixed_listing_is_indistinguishable_from_headbucket() -> None:
    # Same action, same resource, same absent s3:prefix key: IAM cannot tell them apart, so an
    # unprefixed ListObjects is allowed (key names only; reads stay on the prefix).
    doc = aws_iam.reader_policy(BUCKET_ARN, PREFIX)
    assert list_request(None).context == HEAD_BUCKET.context
    assert allowed(doc, list_request(None))


@pytest.mark.parametrize("key", [*ELSEWHERE, "models", "modelsX/a", "other/models/mlp/config.pbtxt"])
def test_reader_denies_reads_outside_the_prefix(key: str) -> None:
    doc = aws_iam.reader_policy(BUCKET_ARN, PREFIX)
    for call in ("GetObject", "HeadObject"):
        assert not allowed(doc, Request("s3:GetObject", obj(key), {}, call)), (call, key)
    assert not allowed(doc, Request("s3:GetObject", f"arn:aws:s3:::other-bucket/{PREFIX}/a", {}, "GetObject"))


# Operations that change the bucket or its objects, with the IAM action each authorises as
# (Service Authorization Reference, API operations table).
WRITES = [
    ("PutObject", "s3:PutObject", "object"),
    ("CopyObject (target)", "s3:PutObject", "object"),
    ("CreateMultipartUpload", "s3:PutObject", "object"),
    ("UploadPart", "s3:PutObject", "object"),
    ("CompleteMultipartUpload", "s3:PutObject", "object"),
    ("AbortMultipartUpload", "s3:AbortMultipartUpload", "object"),
    ("DeleteObject", "s3:DeleteObject", "object"),
    ("DeleteObjects", "s3:DeleteObject", "object"),
    ("DeleteObject (versionId)", "s3:DeleteObjectVersion", "object"),
    ("PutObjectAcl", "s3:PutObjectAcl", "object"),
    ("PutObjectTagging", "s3:PutObjectTagging", "object"),
    ("PutObjectRetention", "s3:PutObjectRetention", "object"),
    ("RestoreObject", "s3:RestoreObject", "object"),
    ("DeleteBucket", "s3:DeleteBucket", "bucket"),
    ("PutBucketPolicy", "s3:PutBucketPolicy", "bucket"),
    ("DeleteBucketPolicy", "s3:DeleteBucketPolicy", "bucket"),
    ("PutBucketAcl", "s3:PutBucketAcl", "bucket"),
    ("PutBucketVersioning", "s3:PutBucketVersioning", "bucket"),
    ("PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration", "bucket"),
    ("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "bucket"),
]


def _write_requests(keys: Iterable[str]) -> list[Request]:
    out = []
    for call, action, kind in WRITES:
        if kind == "bucket":
            out.append(Request(action, BUCKET_ARN, {}, call))
        else:
            out += [Request(action, obj(k), {}, call) for k in keys]
    return out


def test_reader_denies_every_write_explicitly() -> None:
    doc = aws_iam.reader_policy(BUCKET_ARN, PREFIX)
    requests = _write_requests(["models/mlp/config.pbtxt", "models/new/1/model.plan", "_cache/x"])
    assert len(requests) >= len(WRITES), requests
    for req in requests:
        assert evaluate([doc], req) is Decision.EXPLICIT_DENY, str(req)


# --------------------------------------------------------------------------- the engine builder


def _s3_cp_requests(script: str) -> list[Request]:
    """The requests of each ``aws s3 cp`` line of a Job container's script."""
    out: list[Request] = []
    for line in script.splitlines():
        words = shlex.split(line)
        if words[:3] != ["aws", "s3", "cp"]:
            continue
        positional, skip = [], False
        for w in words[3:]:
            if skip:
                skip = False
            elif w in ("--endpoint-url", "--metadata"):
                skip = True
            elif not w.startswith("--"):
                positional.append(w)
        src, dst = positional
        if src.startswith("s3://"):
            key = src.removeprefix(f"s3://{BUCKET}/")
            out += [Request("s3:GetObject", obj(key), {}, c) for c in ("HeadObject", "GetObject", "GetObject (range)")]
        else:
            key = dst.removeprefix(f"s3://{BUCKET}/")
            for c in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
                out.append(Request("s3:PutObject", obj(key), {}, c))
            out.append(Request("s3:AbortMultipartUpload", obj(key), {}, "AbortMultipartUpload"))
    return out


def builder_requests() -> list[Request]:
    spec = ModelSpec.model_validate(
        {
            "name": "resnet",
            "source": "resnet.onnx",
            "format": "tensorrt",
            "max_batch_size": 8,
            "precision": "int8",
            "calibration_cache": "resnet.cache",
        }
    )
    job = EngineJob.for_model(
        spec,
        onnx_sha256="0" * 63 + "1",
        cache_prefix=CACHE,
        compute_capability="8.0",
        ngc_release="25.01",
        calibration_sha256="c" * 64,
    )
    manifest = job_manifest(
        job,
        StoreRef(kind="s3", bucket=BUCKET, region="eu-west-1", prefix=PREFIX, cache_prefix=CACHE),
        BuilderRef(
            kind="kubernetes",
            kubeconfig_path="/k",
            namespace="triton",
            service_account="triton-engine-builder",
            node_selector={"triton-platform/pool": "gpu"},
        ),
    )
    pod = manifest["spec"]["template"]["spec"]
    scripts = [c["command"][-1] for c in [*pod["initContainers"], *pod["containers"]] if c["name"] != "build"]
    return [r for s in scripts for r in _s3_cp_requests(s)]


def test_builder_script_fetches_inputs_and_uploads_the_engine() -> None:
    reqs = builder_requests()
    downloads = {r.resource for r in reqs if r.call == "GetObject"}
    uploads = {r.resource for r in reqs if r.call == "PutObject"}
    assert downloads == {obj(f"{CACHE}/onnx/{'0' * 63}1.onnx"), obj(f"{CACHE}/calibration/{'c' * 64}.cache")}
    (engine,) = uploads
    assert engine.startswith(obj(f"{CACHE}/engines/resnet/"))
    assert engine.endswith("/sm80.plan")


def test_builder_allows_exactly_its_calls() -> None:
    # Fails with the main-branch policy: it also let the builder read the served prefix and
    # delete anything in the cache (manifests and pending markers included).
    doc = aws_iam.builder_policy(BUCKET_ARN, PREFIX, CACHE)
    denied = [str(r) for r in builder_requests() if not allowed(doc, r)]
    assert not denied, denied
    others = [
        HEAD_BUCKET,
        list_request(f"{CACHE}/"),
        Request("s3:GetObject", obj("models/resnet/config.pbtxt"), {}, "GetObject"),
        Request("s3:GetObject", obj(f"{CACHE}/manifests/resnet/1.json"), {}, "GetObject"),
        Request("s3:PutObject", obj(f"{CACHE}/manifests/resnet/1.json"), {}, "PutObject"),
        Request("s3:PutObject", obj(f"{CACHE}/pending/resnet/1.json"), {}, "PutObject"),
        Request("s3:PutObject", obj(f"{CACHE}/onnx/{'0' * 64}.onnx"), {}, "PutObject"),
        Request("s3:DeleteObject", obj("_cache/engines/resnet/abc/sm80.plan"), {}, "DeleteObject"),
        Request("s3:ListMultipartUploadParts", obj("_cache/engines/resnet/abc/sm80.plan"), {}, "ListParts"),
    ]
    for req in others:
        assert not allowed(doc, req), str(req)


def test_builder_never_writes_the_served_prefix() -> None:
    doc = aws_iam.builder_policy(BUCKET_ARN, PREFIX, CACHE)
    served = ["models/resnet/1/model.plan", "models/resnet/config.pbtxt", "models/x/engines/a/b/sm80.plan"]
    requests = _write_requests(served)
    assert len(requests) >= len(WRITES), requests
    for req in requests:
        assert evaluate([doc], req) is Decision.EXPLICIT_DENY, str(req)


@pytest.mark.parametrize("prefix", ["models/*", "a?b", "${aws:username}", "", "/models", "models/"])
def test_policies_refuse_prefixes_that_would_change_their_meaning(prefix: str) -> None:
    with pytest.raises(ValueError, match="plain S3 key prefix"):
        aws_iam.reader_policy(BUCKET_ARN, prefix)
    with pytest.raises(ValueError, match="plain S3 key prefix"):
        aws_iam.builder_policy(BUCKET_ARN, "models", prefix)


# --------------------------------------------------------------------------- canary rollouts

# Under triton.rollout.strategy canary, canary pods load a release from its own repository,
# <cache>/releases/served/<hex>/ (publisher.stores.base), with the same S3 calls as <prefix>/.
ROOT = release_locations_root(CACHE)
LOCATION = release_location(CACHE, "ab" * 32)
RELEASE = [f"{LOCATION}/{key.removeprefix(PREFIX + '/')}" for key in REPOSITORY]
# The release's content-addressed blobs and manifests beside the locations stay unreadable.
CACHE_ELSEWHERE = [f"{CACHE}/releases/{'c' * 64}.json", f"{CACHE}/releases/served", f"{CACHE}/releases/served-x/a"]
# The reader's document of every stack before canary rollouts existed: instant stacks keep it.
INSTANT_READER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "HeadBucketAndListModelPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET_ARN,
            "Condition": {"StringLikeIfExists": {"s3:prefix": ["models/*"]}},
        },
        {"Sid": "ReadModels", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/models/*"},
        {
            "Sid": "DenyListingOtherPrefixes",
            "Effect": "Deny",
            "Action": "s3:ListBucket",
            "Resource": BUCKET_ARN,
            "Condition": {"Null": {"s3:prefix": "false"}, "StringNotLike": {"s3:prefix": ["models/*"]}},
        },
        {
            "Sid": "DenyEveryOtherActionOnTheBucket",
            "Effect": "Deny",
            "NotAction": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        },
    ],
}


def canary_reader() -> dict[str, Any]:
    return aws_iam.reader_policy(BUCKET_ARN, PREFIX, ROOT)


def test_instant_reader_is_unchanged() -> None:
    assert aws_iam.reader_policy(BUCKET_ARN, PREFIX) == INSTANT_READER
    assert aws_iam.reader_policy(BUCKET_ARN, PREFIX, None) == INSTANT_READER
    fs = TritonS3(REPOSITORY + RELEASE)
    fs.load_repository(LOCATION)
    assert any(not allowed(INSTANT_READER, r) for r in fs.requests), "an instant stack must not read the locations"


def test_canary_reader_allows_every_call_triton_makes_for_a_release_location() -> None:
    fs = TritonS3(REPOSITORY + RELEASE + ELSEWHERE + CACHE_ELSEWHERE)
    fs.load_repository(LOCATION)
    assert {r.resource for r in fs.requests if r.call == "GetObject"} == {obj(k) for k in RELEASE}
    assert list_request(f"{LOCATION}/") in fs.requests
    denied = [str(r) for r in fs.requests if not allowed(canary_reader(), r)]
    assert not denied, denied
    # And the served prefix, as before (stable pods of an instant history, the first release).
    assert all(allowed(canary_reader(), r) for r in triton_requests())


@pytest.mark.parametrize("key", [*ELSEWHERE, *CACHE_ELSEWHERE, f"{CACHE}/releasesXserved/a"])
def test_canary_reader_denies_reads_outside_the_prefix_and_the_root(key: str) -> None:
    for call in ("GetObject", "HeadObject"):
        assert not allowed(canary_reader(), Request("s3:GetObject", obj(key), {}, call)), (call, key)


@pytest.mark.parametrize("prefix", ["_cache/", "_cache/releases/", "_cache/releases/served", "_cache/engines/", "x/"])
def test_canary_reader_denies_listing_above_or_beside_the_root(prefix: str) -> None:
    assert evaluate([canary_reader()], list_request(prefix)) is Decision.EXPLICIT_DENY


def test_canary_reader_denies_every_write_to_the_locations() -> None:
    # The publisher (the operator's own credentials) writes them; Triton never.
    requests = _write_requests(RELEASE)
    assert len(requests) >= len(WRITES)
    for req in requests:
        assert evaluate([canary_reader()], req) is Decision.EXPLICIT_DENY, str(req)


def test_builder_cannot_write_the_locations() -> None:
    doc = aws_iam.builder_policy(BUCKET_ARN, PREFIX, CACHE)
    assert not any(allowed(doc, r) for r in _write_requests(RELEASE))


def test_locations_root_is_checked_like_a_prefix() -> None:
    with pytest.raises(ValueError, match="locations_root"):
        aws_iam.reader_policy(BUCKET_ARN, PREFIX, "_cache/releases/*")
