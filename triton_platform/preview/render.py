"""Markdown for one pull-request comment holding every stack's preview.

Per stack, in this order: destructive changes (warnings), counts by operation (every op the
engine's summary counts), why a failed preview failed (error diagnostics, failed steps, lines
of the log that could not be read), policy violations, the models table, GPU and serving
changes, then every change (type, name, changed property *names*). Values are printed only for
the allow-listed fields of :mod:`triton_platform.preview.fields`; secrets print as
``[secret]``. The whole comment stays under :data:`MAX_COMMENT_CHARS` whatever the preview's
size: warnings and errors are the last things cut; the other blocks are cut to their share of
the stack's budget first, each with a count of what was left out and a link to the full diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from triton_platform.preview import fields as F
from triton_platform.preview.events import COUNTED_OPS, MAX_PROBLEMS, STACK_TYPE, Change, StackPreview, urn_name

# GitHub rejects comment bodies over 65,536 characters; keep well under it.
MAX_COMMENT_CHARS = 60_000
SHA_DIGITS = 12
_MAX_VALUE = 80
_MAX_DIAGNOSTIC = 1_500
_COLOR_TAG = re.compile(r"<\{%[^%]*%\}>")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# deploy.RawPrefix (pkg/resource/deploy/step.go): the prefix Pulumi's own diff shows per op.
_OP_ICON = {
    "create": "+",
    "update": "~",
    "replace": "+-",
    "delete": "-",
    "create-replacement": "++",
    "delete-replaced": "--",
    "import": "=",
    "import-replacement": "=>",
    "discard-replaced": "<<",
}
# The table lists destructive ops first (a delete-replaced alone: a pending delete of an old copy).
_OP_ORDER = ("delete", "delete-replaced", "replace", "update", "import", "import-replacement", "create")
_DESTRUCTIVE = ("replace", "delete", "delete-replaced")
_PATH = re.compile(r'\["[^"]*"\]|\[\d+\]|[^.\[\]]+')


# --- values --------------------------------------------------------------------------------


def is_secret(value: Any) -> bool:
    if isinstance(value, str):
        return value == F.SECRET
    if isinstance(value, Mapping):
        return value.get(F.SIG_KEY) == F.SECRET_SIG
    return False


def _has_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_secret(v) for v in value)
    return False


def lookup(props: Mapping[str, Any] | None, path: str) -> Any:
    """The value at ``path`` (``a.b[0].c``) in ``props``, or None; a secret stops the walk."""
    value: Any = props or {}
    for part in _PATH.findall(path):
        if is_secret(value):
            return value
        if part.startswith('["'):
            value = value.get(part[2:-2]) if isinstance(value, Mapping) else None
        elif part.startswith("["):
            idx = int(part[1:-1])
            value = value[idx] if isinstance(value, list) and idx < len(value) else None
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            return None
    return value


def fmt(value: Any) -> str:
    """One allow-listed value as inline code; secrets as [secret], unknowns as (known after apply)."""
    if value is None:
        return "—"
    if _has_secret(value):
        return f"`{F.SECRET}`"
    if value == F.UNKNOWN:
        return F.UNKNOWN_TEXT
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # protobuf Structs carry every number as a float
    if isinstance(value, list) and value and all(isinstance(v, str) and v != F.UNKNOWN for v in value):
        value = ", ".join(value)
    text = value if isinstance(value, str) else json.dumps(_ints(value), sort_keys=True, separators=(",", ":"))
    return code(_clip(text, _MAX_VALUE))


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text: str) -> str:
    """Inline code that no input can break out of (backticks and pipes removed or escaped)."""
    clean = text.replace("`", "'").replace("|", "\\|").replace("\n", " ")
    return f"`{clean}`"


def short_sha(value: Any) -> str:
    if _has_secret(value):
        return f"`{F.SECRET}`"
    if not isinstance(value, str) or not value:
        return "—"
    if value == F.UNKNOWN:
        return F.UNKNOWN_TEXT
    digest = value.split(":", 1)[1] if value.startswith("sha256:") else value
    return code(digest[:SHA_DIGITS])


def arrow(old: Any, new: Any, render: Any = fmt) -> str:
    return f"{render(old)} → {render(new)}"


# --- blocks --------------------------------------------------------------------------------


@dataclass
class Block:
    """A titled list of lines; ``head`` lines (a table header) are kept whenever any line is."""

    title: str
    lines: list[str] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    what: str = "more"
    # The most of the stack's budget this block may take (1.0: whatever is left).
    share: float = 1.0


def _need(b: Block) -> int:
    return sum(len(x) + 1 for x in (b.title, *b.head, *b.lines)) + 2 if b.lines else 0


def _render(b: Block, cap: int, details: str) -> tuple[list[str], int]:
    """``b`` within ``cap`` characters, cut with a "… and N more" line; and the characters used."""
    need = _need(b)
    if not b.lines:
        return [], 0
    frame = ["", b.title, *b.head]
    if need <= cap:
        return [*frame, *b.lines], need
    used = sum(len(x) + 1 for x in frame) + 2
    if used + 200 > cap:
        return [], 0
    out = list(frame)
    for i, line in enumerate(b.lines):
        # Keep room for the "… and N more" line.
        if used + len(line) + 1 + 160 > cap:
            out.append(f"… and {len(b.lines) - i} {b.what} not shown here; {details}.")
            return out, used + 160
        out.append(line)
        used += len(line) + 1
    return out, used


def _fit(essential: Sequence[Block], rest: Sequence[Block], budget: int, details: str) -> dict[int, list[str]]:
    """Each block's lines (by ``id``) within ``budget`` characters.

    The essential blocks (warnings, errors) come first and are the last things cut: they get all
    they need, or share the whole budget evenly (one that needs less leaves its surplus to the
    others). The rest share what is left, each at most its ``share`` of the budget, so a flood of
    one kind (2,000 deletions) never crowds out the others.
    """
    out: dict[int, list[str]] = {}
    left = budget
    pending = sorted((b for b in essential if b.lines), key=_need)
    for i, b in enumerate(pending):
        out[id(b)], used = _render(b, min(_need(b), left // (len(pending) - i)), details)
        left -= used
    for b in rest:
        cap = left if b.share >= 1 else min(left, int(budget * b.share))
        out[id(b)], used = _render(b, cap, details)
        left -= used
    return out


# --- per-stack content ---------------------------------------------------------------------


def _kind(change: Change) -> str | None:
    return F.DATA_TYPES.get(change.type) or F.CAPACITY_TYPES.get(change.type)


def warnings(p: StackPreview) -> list[str]:
    lines: list[str] = []
    for c in p.changes:
        # A refresh's "delete" is drift (gone from the cloud already), not something the update does.
        if c.op not in _DESTRUCTIVE or c.refresh_result:
            continue
        kind = _kind(c)
        protected, retained = c.protected(), c.retained()
        if kind is None and not protected and not retained:
            continue
        what = kind or code(c.type)
        if c.type in F.DATA_TYPES and retained:
            why = "it leaves the stack but stays in the cloud with its models (retainOnDelete)" + (
                "; the replacement starts empty" if c.op == "replace" else ""
            )
        elif c.type in F.DATA_TYPES:
            why = "it is deleted with every model in it"
        elif c.type in F.CAPACITY_TYPES:
            why = "its nodes (and the Triton pods on them) go away"
        else:
            why = "a resource the stack protects or retains"
        notes: list[str] = []
        if c.op == "replace" and c.replace_keys():
            notes.append("replaced because of " + ", ".join(code(k) for k in c.replace_keys()))
        if protected:
            notes.append("**protected**: `pulumi up` refuses until `protect` is lifted")
        if retained and c.type not in F.DATA_TYPES:
            notes.append("retainOnDelete: the old one stays in the cloud, outside the stack")
        extra = f" ({'; '.join(notes)})" if notes else ""
        lines.append(f"- :warning: **{c.op}** {what} {code(c.name)}: {why}{extra}")
    return lines


def counts_line(p: StackPreview) -> str:
    """The summary's counts: the five usual ops always, then every other op it counts (import, read...)."""
    counts = p.counts()
    return " · ".join(f"{op} **{counts.get(op, 0)}**" for op in (*COUNTED_OPS, *_other_ops(counts)))


def _other_ops(counts: Mapping[str, int]) -> list[str]:
    return [op for op, n in counts.items() if op not in COUNTED_OPS and n]


def _ccs(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    out = []
    for v in value:
        if isinstance(v, str) and not is_secret(v) and v != F.UNKNOWN:
            out.append(v)
    return out


def model_row(c: Change) -> str | None:
    old_in, new_in, old_out = c.old_inputs(), c.new_inputs(), c.old_outputs()
    old_spec = lookup(old_in, "spec") or {}
    new_spec = lookup(new_in, "spec") or {}
    spec = new_spec or old_spec
    name = lookup(spec, "name")
    what: list[str] = []
    both = c.op in ("update", "replace")
    if both and old_in.get(F.MV_FINGERPRINT) != new_in.get(F.MV_FINGERPRINT):
        what.append(f"source sha256 {arrow(old_in.get(F.MV_FINGERPRINT), new_in.get(F.MV_FINGERPRINT), short_sha)}")
    elif c.op == "create":
        what.append(f"source sha256 {short_sha(new_in.get(F.MV_FINGERPRINT))}")
    options_changed = False
    if both:
        for key in F.BUILD_OPTION_KEYS:
            o, n = lookup(old_spec, key), lookup(new_spec, key)
            if _norm(o) != _norm(n):
                options_changed = True
                if key in F.PRINTABLE_BUILD_OPTIONS:
                    what.append(f"{key} {arrow(o, n)}")
                else:
                    what.append(f"{key} changed")
        o, n = lookup(old_spec, "revision"), lookup(new_spec, "revision")
        if _norm(o) != _norm(n):
            what.append(f"revision {arrow(o, n)}")
        for key, label in ((F.MV_RELEASE, "Triton release"), (F.MV_TENSORRT, "TensorRT")):
            o, n = old_in.get(key), new_in.get(key)
            if o != n:
                what.append(f"{label} {arrow(o, n)}")
        o, n = old_in.get(F.MV_CCS), new_in.get(F.MV_CCS)
        if _norm(o) != _norm(n):
            what.append(f"GPU architectures {arrow(o, n)}")
        serving = [k for k in F.SPEC_SERVING_KEYS if _norm(lookup(old_spec, k)) != _norm(lookup(new_spec, k))]
        if serving:
            what.append("config " + ", ".join(code(k) for k in serving))
    version = old_out.get(F.MV_VERSION)
    if c.op == "create":
        current = "new"
    elif isinstance(version, int | float) and not isinstance(version, bool):
        current = f"v{int(version)}" + (" (removed)" if c.op == "delete" else "")
    else:
        current = "—"
    engines = _engines(c, old_in, new_in, spec, fingerprint_or_options_changed=options_changed)
    if c.op == "delete":
        what.append("model removed from the repository")
    return (
        f"| {code(str(name)) if name else code(c.name)} | {c.op} | {'<br>'.join(what) or '—'} | {current} | {engines} |"
    )


def _norm(value: Any) -> Any:
    return _ints(value)


def _engines(
    c: Change, old_in: Mapping[str, Any], new_in: Mapping[str, Any], spec: Any, *, fingerprint_or_options_changed: bool
) -> str:
    if c.op == "delete":
        return "—"
    fmt_ = lookup(spec, "format")
    if fmt_ != "tensorrt":
        return f"none ({fmt_ or 'no'} format)"
    new_ccs = _ccs(new_in.get(F.MV_CCS))
    trt = new_in.get(F.MV_TENSORRT)
    if c.op == "create":
        build = new_ccs
    else:
        # Engines are keyed by ONNX sha256, build options, TensorRT version and compute capability
        # (triton_platform/publisher/fingerprint.py engine_key): only changed keys are built again.
        everything = (
            fingerprint_or_options_changed
            or old_in.get(F.MV_FINGERPRINT) != new_in.get(F.MV_FINGERPRINT)
            or old_in.get(F.MV_TENSORRT) != trt
        )
        old_ccs = set(_ccs(old_in.get(F.MV_CCS)))
        build = new_ccs if everything else [cc for cc in new_ccs if cc not in old_ccs]
    if not build:
        return "none (engines in the cache are reused)"
    trt_text = f" with TensorRT {fmt(trt)}" if trt else ""
    return ", ".join(f"cc {code(cc)}" for cc in build) + trt_text


def models_block(p: StackPreview) -> Block:
    rows = [r for c in p.changes if c.type == F.MODEL_VERSION and c.is_change for r in [model_row(c)] if r]
    return Block(
        title="**Models**",
        head=[
            "| model | change | what changed | current version | engines to build (per compute capability) |",
            "| --- | --- | --- | --- | --- |",
        ],
        lines=rows,
        what="model rows",
        share=0.3,
    )


def _field_changes(c: Change, paths: Sequence[tuple[str, str]]) -> list[str]:
    old_in, new_in = c.old_inputs(), c.new_inputs()
    out = []
    for path, label in paths:
        o = lookup(old_in, path) if c.op != "create" else None
        n = lookup(new_in, path) if c.op != "delete" else None
        if _norm(o) == _norm(n):
            continue
        out.append(f"{label} {arrow(o, n)}")
    return out


def gpu_serving_block(p: StackPreview) -> Block:
    lines = []
    for c in p.changes:
        if not c.is_change:
            continue
        if c.type in F.GPU_FIELDS:
            items = _field_changes(c, F.GPU_FIELDS[c.type])
        elif c.type == F.HELM_RELEASE:
            items = _field_changes(c, F.RELEASE_FIELDS)
        else:
            continue
        if items:
            lines.append(f"- {c.op} {code(c.type)} {code(c.name)}: " + "; ".join(items))
    return Block(title="**GPU and serving**", lines=lines, what="GPU and serving changes", share=0.15)


def _canary_steps(steps: Any) -> str:
    """A Rollout's ``setWeight``/``pause`` steps as "10 % for 5m → 50 % for 10m → 100 %"."""
    parts: list[str] = []
    for step in steps if isinstance(steps, list) else []:
        weight, pause = lookup(step, "setWeight"), lookup(step, "pause.duration")
        if weight is not None:
            parts.append(f"{fmt(weight)} %")
        elif pause is not None and parts:
            parts[-1] += f" for {fmt(pause)}"
    return " → ".join([*parts, "`100` %"])


def _canary_thresholds(metrics: list[Any]) -> str:
    """Each analysis metric's bound: the number its ``failureCondition`` compares ``result[0]`` with."""
    out = []
    for m in metrics:
        failure = lookup(m, "failureCondition")
        bound = failure.rsplit(">", 1)[-1].strip() if isinstance(failure, str) and ">" in failure else None
        out.append(f"{fmt(lookup(m, 'name'))} ≤ {fmt(bound)}")
    return ", ".join(out)


def rollout_block(p: StackPreview) -> Block:
    """The canary plan of each updated Helm release whose values say ``rollout.strategy: canary``:
    Argo Rollouts serves the change to canary pods through these steps, judged on these bounds."""
    lines = []
    for c in p.changes:
        if c.type != F.HELM_RELEASE or c.op not in ("update", "replace") or "values" not in c.changed_keys():
            continue
        plan = lookup(c.new_inputs(), "values.rollout")
        if not isinstance(plan, Mapping) or plan.get("strategy") != "canary" or _has_secret(plan):
            continue
        metrics = lookup(plan, "analysis.spec.metrics")
        lines.append(f"- {code(c.name)}: canary {_canary_steps(plan.get('steps'))}")
        if not isinstance(metrics, list) or not metrics:
            lines.append("  - no analysis (monitoring is off): the steps alone promote it")
            continue
        lines.append(
            f"  - analysis every {fmt(lookup(metrics[0], 'interval'))}, aborted once one metric fails more than "
            f"{fmt(lookup(metrics[0], 'failureLimit'))} time(s): {_canary_thresholds(metrics)}"
        )
    return Block(title="**Canary rollout plan**", lines=lines, what="plan lines", share=0.1)


def policy_block(p: StackPreview) -> Block:
    lines = []
    for e in p.policy_events:
        level = e.enforcement_level or "advisory"
        icon = ":no_entry:" if level == "mandatory" else ":warning:"
        where = ""
        if e.resource_urn:
            where = " on " + code(urn_name(e.resource_urn))
        message = _clip(_plain(e.message), 300)
        lines.append(f"- {icon} **{level}** {code(e.policy_name)}{where}: {message}")
    return Block(title="**Policy violations**", lines=lines, what="violations", share=0.15)


def _plain(message: str) -> str:
    # Backticks go too: a message can neither close the code block it sits in nor open one.
    return _ANSI.sub("", _COLOR_TAG.sub("", message)).replace("`", "'")


def diagnostics_block(p: StackPreview) -> Block:
    """Why the preview failed: what the log says without a message first, then the error diagnostics."""
    lines = [f"- {_clip(_plain(r), _MAX_DIAGNOSTIC)}" for r in p.reasons()]
    for d in p.errors:
        where = f" ({code(urn_name(d.urn))})" if d.urn else ""
        text = _plain((d.prefix or "") + d.message).strip()
        if len(text) > _MAX_DIAGNOSTIC:
            text = text[:_MAX_DIAGNOSTIC] + "…"
        lines.append(f"- error{where}:\n  ```text\n  " + "\n  ".join(text.splitlines()) + "\n  ```")
    return Block(title="**Errors**", lines=lines, what="errors")


def problems_block(p: StackPreview) -> Block:
    """Lines of the log that were not read (the rest of the log is): the counts may miss them."""
    shown = [f"- {code(x)}" for x in p.problems[:MAX_PROBLEMS]]
    if len(p.problems) > MAX_PROBLEMS:
        shown.append(f"- … and {len(p.problems) - MAX_PROBLEMS} more")
    return Block(title="**Event log lines not read** (the rest of the log was)", lines=shown, what="lines")


def others_block(p: StackPreview) -> Block:
    """Every change (engine.HasChanges' ops), destructive first; a failed step is marked :x:."""
    rest = [c for c in p.changes if c.is_change and c.type != STACK_TYPE]
    rest.sort(key=lambda c: _OP_ORDER.index(c.op) if c.op in _OP_ORDER else len(_OP_ORDER))
    lines = []
    for c in rest:
        keys = c.changed_keys()
        props = ", ".join(code(k) for k in keys[:8]) + (f" (+{len(keys) - 8})" if len(keys) > 8 else "")
        op = f"{_OP_ICON.get(c.op, '?')} {c.op}" + (" :x: failed" if c.failed else "")
        lines.append(f"| {op} | {code(c.type)} | {code(c.name)} | {props or '—'} |")
    return Block(
        title="**All changes**",
        head=["| op | type | name | changed properties |", "| --- | --- | --- | --- |"],
        lines=lines,
        what="resources",
    )


def status(p: StackPreview) -> str:
    if p.blocked_by_policy:
        return ":no_entry: blocked by policy"
    if p.failed:
        return ":x: preview failed"
    if not p.has_changes():
        return ":white_check_mark: no changes"
    return ":large_orange_diamond: changes"


def stack_section(p: StackPreview, budget: int, details: str) -> str:
    """One stack: destructive warnings first, then the counts, then the other blocks."""
    title = f"### Stack {code(p.stack)}: {status(p)}"
    counted = counts_line(p)
    if p.failed and p.summary is None:
        counted += " (steps planned before the preview stopped)"
    warn = Block(title="**Warnings: destroys data or capacity**", lines=warnings(p), what="warnings")
    essential = [warn, diagnostics_block(p), problems_block(p)]
    rest = [policy_block(p), models_block(p), gpu_serving_block(p), rollout_block(p), others_block(p)]
    room = max(budget - len(title) - len(counted) - 4, 0)
    fitted = _fit(essential, rest, room, details)
    body = [line for b in (*essential[1:], *rest) for line in fitted.get(id(b), [])]
    return "\n".join([title, *fitted.get(id(warn), []), "", counted, *body]).rstrip() + "\n"


def comment(previews: Sequence[StackPreview], *, details_url: str | None = None) -> str:
    """The whole comment; under MAX_COMMENT_CHARS for any number of resources."""
    details = (
        f"full diff: [job summary and artifacts]({details_url})" if details_url else "full diff in the job summary"
    )
    title = "## Pulumi preview"
    overview = [
        "| stack | result | destructive | create | update | replace | delete | same | other |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in previews:
        c = p.counts()
        n_warn = len(warnings(p))
        destructive = f":warning: {n_warn}" if n_warn else "0"
        other = ", ".join(f"{op} {c[op]}" for op in _other_ops(c)) or "0"
        cells = [str(c.get(op, 0)) for op in COUNTED_OPS]
        overview.append(f"| {code(p.stack)} | {status(p)} | {destructive} | " + " | ".join([*cells, other]) + " |")
    footer = [
        "",
        f"<sub>Built from `pulumi preview --event-log` by `python -m triton_platform.preview`; {details}."
        " Only allow-listed fields are shown; secrets stay `[secret]`.</sub>",
    ]
    top = "\n".join([title, "", *overview, ""]) + "\n"
    bottom = "\n".join(footer) + "\n"
    room = MAX_COMMENT_CHARS - len(top) - len(bottom) - 500
    share = max(room // max(len(previews), 1), 1_000)
    sections = [stack_section(p, share, details) for p in previews]
    text = top + "\n".join(sections) + bottom
    if len(text) > MAX_COMMENT_CHARS:  # only with hundreds of stacks: cut whole sections, never mid-table
        keep: list[str] = []
        used = len(top) + len(bottom) + 200
        for s in sections:
            if used + len(s) > MAX_COMMENT_CHARS:
                break
            keep.append(s)
            used += len(s) + 1
        text = top + "\n".join(keep) + f"\n… {len(sections) - len(keep)} stacks not shown; {details}.\n" + bottom
    return text
