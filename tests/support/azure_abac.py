"""Azure role assignment conditions (ABAC, version 2.0), evaluated for the tests.

The subset our conditions use, from Microsoft's "Azure role assignment condition format and syntax"
(learn.microsoft.com/azure/role-based-access-control/conditions-format):

- ``ActionMatches{'<action>'}`` (``*`` a wildcard) and ``SubOperationMatches{'<sub-operation>'}``;
- ``@Resource[<attribute>]`` / ``@Request[<attribute>]`` compared with ``StringEquals``,
  ``StringNotEquals``, ``StringStartsWith`` or ``StringNotStartsWith`` to a quoted string;
- ``!`` / ``NOT``, ``AND``, ``OR`` and parentheses, where "if you have three or more expressions
  for a targeted action, you must add parentheses" (section "Grouping and precedence"): this parser
  refuses ``AND`` and ``OR`` side by side without them, as Azure does.

A request's attributes are those of "Actions and attributes for Azure role assignment conditions for
Azure Blob Storage": List Blobs (``blobs/read`` with sub-operation ``Blob.List``) is made on the
container and carries the request's ``blobs:prefix``; Read Blob (``blobs/read``, no sub-operation)
carries the blob's ``blobs:path``. A comparison with an attribute the request does not carry is
false (its positive and its negated forms alike), so a condition can only rely on it where the
action guarantees it; anything outside the subset raises instead of being guessed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
CONTAINER_NAME = "Microsoft.Storage/storageAccounts/blobServices/containers:name"
BLOB_PATH = f"{BLOB}:path"
LIST_PREFIX = f"{BLOB}:prefix"

_TOKEN = re.compile(
    r"\s*(?:(?P<fn>ActionMatches|SubOperationMatches)\{'(?P<arg>[^'\\]*)'\}"
    r"|@(?P<source>Resource|Request)\[(?P<attr>[^\]]+)\]"
    r"|'(?P<str>[^'\\]*)'"
    r"|(?P<op>\(|\)|!)"
    r"|(?P<word>[A-Za-z]+))"
)
_COMPARISONS = {
    "StringEquals": lambda a, b: a == b,
    "StringNotEquals": lambda a, b: a != b,
    "StringStartsWith": lambda a, b: a.startswith(b),
    "StringNotStartsWith": lambda a, b: not a.startswith(b),
}


@dataclass(frozen=True)
class BlobRequest:
    """One data action on a container: what ABAC sees of it."""

    action: str
    sub_operation: str | None = None
    resource: Mapping[str, str] = field(default_factory=dict)
    request: Mapping[str, str] = field(default_factory=dict)


def list_blobs(container: str, prefix: str | None) -> BlobRequest:
    """List Blobs, with or without a ``prefix`` parameter."""
    return BlobRequest(
        f"{BLOB}/read", "Blob.List", {CONTAINER_NAME: container}, {} if prefix is None else {LIST_PREFIX: prefix}
    )


def read_blob(container: str, path: str) -> BlobRequest:
    """Get Blob / Get Blob Properties of ``path``."""
    return BlobRequest(f"{BLOB}/read", None, {CONTAINER_NAME: container, BLOB_PATH: path})


class _Parser:
    def __init__(self, condition: str, req: BlobRequest) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, condition.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ValueError(f"condition outside the supported subset at {text[pos:]!r}")
            pos = m.end()
            if m["fn"]:
                self.tokens.append((m["fn"], m["arg"]))
            elif m["source"]:
                self.tokens.append((m["source"], m["attr"]))
            elif m["str"] is not None:
                self.tokens.append(("str", m["str"]))
            elif m["op"]:
                self.tokens.append(("op", m["op"]))
            else:
                self.tokens.append(("word", m["word"]))
        self.i = 0
        self.req = req

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def _take(self, kind: str, value: str | None = None) -> str:
        tok = self._peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise ValueError(f"expected {value or kind}, found {tok[1]!r}")
        self.i += 1
        return tok[1]

    def parse(self) -> bool:
        value = self._expression()
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected {self._peek()[1]!r}")
        return value

    def _expression(self) -> bool:
        values = [self._unary()]
        joins: set[str] = set()
        while self._peek() in (("word", "AND"), ("word", "OR")):
            joins.add(self._take("word"))
            values.append(self._unary())
        if len(joins) > 1:
            raise ValueError("AND and OR side by side need parentheses (conditions-format, grouping and precedence)")
        return any(values) if joins == {"OR"} else all(values)

    def _unary(self) -> bool:
        if self._peek() in (("op", "!"), ("word", "NOT")):
            self.i += 1
            return not self._unary()
        if self._peek() == ("op", "("):
            self._take("op", "(")
            value = self._expression()
            self._take("op", ")")
            return value
        kind, arg = self._peek()
        self.i += 1
        if kind == "ActionMatches":
            return fnmatch.fnmatchcase(self.req.action, arg)
        if kind == "SubOperationMatches":
            return self.req.sub_operation == arg
        if kind in ("Resource", "Request"):
            operator = self._take("word")
            expected = self._take("str")
            if operator not in _COMPARISONS:
                raise ValueError(f"operator {operator!r} is not implemented by this evaluator")
            attributes = self.req.resource if kind == "Resource" else self.req.request
            actual = attributes.get(arg)
            return actual is not None and bool(_COMPARISONS[operator](actual, expected))
        raise ValueError(f"unexpected {arg!r}")


def condition_allows(condition: str, req: BlobRequest) -> bool:
    """Whether a role assignment's ``condition`` lets ``req`` through (the role granting the action)."""
    return _Parser(condition, req).parse()
