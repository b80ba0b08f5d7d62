"""Cloud Storage IAM Conditions and what ``gcloud storage cp`` asks Cloud Storage for, for the tests.

Two halves, each from its documentation, raising instead of guessing outside it:

- :func:`condition_allows`: the CEL subset our IAM Conditions use (Google Cloud IAM docs,
  "Resource attributes for IAM Conditions" / "API attributes"): ``||``, ``&&``, parentheses,
  ``resource.name`` / ``resource.type``, ``api.getAttribute("key", "default")``, the string
  functions ``startsWith`` / ``endsWith`` and ``==``. For a Cloud Storage object ``resource.name``
  is ``projects/_/buckets/<bucket>/objects/<object>``; a list call is checked on the bucket and
  carries the list's ``prefix`` as ``storage.googleapis.com/objectListPrefix``.
- :func:`cp_requests`: the object requests of one ``gcloud storage cp`` with the environment it
  runs in. An upload is one object write unless gcloud switches to a parallel composite upload
  (Cloud Storage docs, "Parallel composite uploads": property
  ``storage/parallel_composite_upload_enabled`` False disables it; None/True performs it for
  files of at least ``storage/parallel_composite_upload_threshold``, 150 MiB, when the bucket
  is STANDARD with no retention policy). Its parts go to
  ``gcloud/tmp/parallel_composite_uploads/see_gcloud_storage_cp_help_for_details/`` at the bucket
  root (gcloud's ``copy_component_util.py``: the default
  ``storage/parallel_composite_upload_component_prefix`` starts with ``/``), then a compose writes
  the destination and the parts are deleted. gcloud reads any property from
  ``CLOUDSDK_<SECTION>_<PROPERTY>``.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PARALLEL_COMPOSITE_ENV = "CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED"
COMPOSITE_THRESHOLD = 150 * 1024 * 1024
COMPOSITE_COMPONENT_SIZE = 50 * 1024 * 1024  # storage/parallel_composite_upload_component_size default
COMPOSITE_MAX_COMPONENTS = 32
COMPOSITE_PREFIX = "gcloud/tmp/parallel_composite_uploads/see_gcloud_storage_cp_help_for_details/"

_TOKEN = re.compile(r'\s*(?:(\|\||&&|==|[().,])|"([^"\\]*)"|\'([^\'\\]*)\'|([A-Za-z_][A-Za-z0-9_]*))')


@dataclass(frozen=True)
class ObjectRequest:
    """One object-level request: the permission it needs and the IAM resource it is checked on."""

    permission: str
    resource_name: str
    list_prefix: str | None = None


class _Parser:
    def __init__(self, expression: str, request: ObjectRequest) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(expression.rstrip()):
            match = _TOKEN.match(expression, pos)
            if not match:
                raise ValueError(f"CEL outside the supported subset at {expression[pos:]!r}")
            op, dq, sq, ident = match.groups()
            kind = "op" if op else "ident" if ident else "str"
            self.tokens.append((kind, op or ident or (dq if dq is not None else sq or "")))
            pos = match.end()
        self.i = 0
        self.request = request

    def _take(self, kind: str, value: str | None = None) -> str:
        tok = self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise ValueError(f"expected {value or kind}, found {tok[1]!r}")
        self.i += 1
        return tok[1]

    def _peek(self, value: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i] == ("op", value)

    def parse(self) -> bool:
        value = self._or()
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.i][1]!r}")
        return value

    def _or(self) -> bool:
        value = self._and()
        while self._peek("||"):
            self._take("op", "||")
            value = self._and() or value
        return value

    def _and(self) -> bool:
        value = self._term()
        while self._peek("&&"):
            self._take("op", "&&")
            value = self._term() and value
        return value

    def _term(self) -> bool:
        if self._peek("("):
            self._take("op", "(")
            value = self._or()
            self._take("op", ")")
            return value
        subject = self._value()
        if self._peek("=="):
            self._take("op", "==")
            return subject == self._take("str")
        self._take("op", ".")
        function = self._take("ident")
        self._take("op", "(")
        arg = self._take("str")
        self._take("op", ")")
        if function == "startsWith":
            return subject.startswith(arg)
        if function == "endsWith":
            return subject.endswith(arg)
        raise ValueError(f"unsupported function {function!r}")

    def _value(self) -> str:
        root = self._take("ident")
        self._take("op", ".")
        member = self._take("ident")
        if root == "resource" and member == "name":
            return self.request.resource_name
        if root == "resource" and member == "type":
            return "storage.googleapis.com/Object" if "/objects/" in self.request.resource_name else "Bucket"
        if root == "api" and member == "getAttribute":
            self._take("op", "(")
            key = self._take("str")
            self._take("op", ",")
            default = self._take("str")
            self._take("op", ")")
            if key == "storage.googleapis.com/objectListPrefix" and self.request.list_prefix is not None:
                return self.request.list_prefix
            return default
        raise ValueError(f"unsupported attribute {root}.{member}")


def condition_allows(expression: str, request: ObjectRequest) -> bool:
    """Whether the IAM Condition ``expression`` holds for ``request``."""
    return _Parser(expression, request).parse()


def object_name(bucket: str, name: str) -> str:
    """The IAM resource name of an object."""
    return f"projects/_/buckets/{bucket}/objects/{name}"


def _gs(url: str) -> tuple[str, str] | None:
    if not url.startswith("gs://"):
        return None
    bucket, _, name = url[5:].partition("/")
    return bucket, name


def _property_false(env: Mapping[str, str], name: str) -> bool:
    # gcloud's boolean properties read true/false, 1/0, yes/no, on/off (case-insensitive).
    return env.get(name, "").strip().lower() in {"false", "0", "no", "off"}


def cp_requests(
    line: str,
    env: Mapping[str, str],
    *,
    file_size: int,
    storage_class: str = "STANDARD",
    retention_policy: bool = False,
) -> list[ObjectRequest]:
    """The object requests ``gcloud storage cp SRC DST [flags]`` (one shell line) makes for a ``file_size`` file."""
    words = shlex.split(line)
    if words[:3] != ["gcloud", "storage", "cp"]:
        raise ValueError(f"not a gcloud storage cp line: {line!r}")
    src, dst = [w for w in words[3:] if not w.startswith("-")][:2]
    source, target = _gs(src), _gs(dst)
    if source is not None:  # a download, sliced or not: reads of the one object
        return [ObjectRequest("storage.objects.get", object_name(*source))]
    if target is None:
        raise ValueError(f"neither side of {line!r} is in Cloud Storage")
    bucket, name = target
    composite = (
        not _property_false(env, PARALLEL_COMPOSITE_ENV)
        and file_size >= COMPOSITE_THRESHOLD
        and storage_class == "STANDARD"
        and not retention_policy
    )
    final = ObjectRequest("storage.objects.create", object_name(bucket, name))
    if not composite:
        return [final]
    count = min(math.ceil(file_size / COMPOSITE_COMPONENT_SIZE), COMPOSITE_MAX_COMPONENTS)
    parts = [object_name(bucket, f"{COMPOSITE_PREFIX}0123456789_{'0' * 40}_{i}") for i in range(count)]
    requests: list[ObjectRequest] = [ObjectRequest("storage.objects.create", p) for p in parts]
    requests += [ObjectRequest("storage.objects.get", p) for p in parts]  # compose reads its sources
    requests.append(final)
    requests += [ObjectRequest("storage.objects.delete", p) for p in parts]
    return requests


def container_env(container: Mapping[str, Any]) -> dict[str, str]:
    """A container's literal environment variables (``value`` only; Secret references are left out)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
