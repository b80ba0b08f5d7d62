"""Converts event streams recorded by Pulumi's own tests into `pulumi preview --event-log` lines.

    python -m tests.triton_platform.preview.pulumi_engine.convert PULUMI_CHECKOUT

PULUMI_CHECKOUT is a checkout of github.com/pulumi/pulumi at :data:`COMMIT`. The sources hold
``apitype.EngineEvent`` JSON already: the lifecycle tests write each stream with
``display.ConvertEngineEvent`` (pkg/engine/lifecycletest/framework/framework.go, AssertDisplay),
the display tests read theirs back with ``ConvertJSONEvent``. What the CLI's event log adds is
done here as pkg/backend/display/display.go does it: ``stampEvents`` numbers the events from 0
(sequence) and stamps the time; ``logJSONEvent`` writes one compact line per event without HTML
escaping, and with ``--color never`` (as our preview workflow runs) strips the colour directives
from diagnostic, stdout and policy messages and sets their ``color`` to ``never``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

COMMIT = "1b5949891b3cefcb9974752b24a5ecef0acc86c8"
HERE = Path(__file__).resolve().parent
_LIFECYCLE = "pkg/engine/lifecycletest/testdata/output"
_DISPLAY = "pkg/backend/display/testdata/not-truncated"
# Output file (without .jsonl) -> the recorded stream it comes from.
SOURCES = {
    "import-only-preview": f"{_LIFECYCLE}/TestRefreshBeforeUpdate/-0-5-preview/eventstream.json",
    "import-and-replace-preview": f"{_LIFECYCLE}/TestImportDeleteBeforeReplace/0/eventstream.json",
    "discard-preview": f"{_LIFECYCLE}/TestStackReference/-4-0-preview/eventstream.json",
    "read-update": f"{_LIFECYCLE}/TestStackReference/-0-1/eventstream.json",
    "preview-refresh-update": f"{_LIFECYCLE}/TestRefreshBeforeUpdate/-0-1-preview/eventstream.json",
    "preview-refresh-program": f"{_LIFECYCLE}/TestPreviewRefreshWithProgram/1/eventstream.json",
    "refresh-results-preview": f"{_LIFECYCLE}/TestRefreshBasics/0-0-0-preview/eventstream.json",
    "same-then-delete": f"{_LIFECYCLE}/TestDestroyWithProgram/1/eventstream.json",
    "aliased-replace-preview": f"{_LIFECYCLE}/TestAliases/t7-n5-0-0-preview/eventstream.json",
    "pending-delete-replacement": f"{_LIFECYCLE}/TestPendingDeleteReplacement/eventstream.json",
    "import-replacement-discard": f"{_LIFECYCLE}/TestImportOption/10/eventstream.json",
    "read-replacement": f"{_LIFECYCLE}/TestReadReplaceStep/eventstream.json",
    "protected-deletes-preview": f"{_LIFECYCLE}/TestMultipleProtectedDeletes/1/eventstream.json",
    "protected-replace-preview": f"{_LIFECYCLE}/TestProtect/1/eventstream.json",
    "retained-delete": f"{_LIFECYCLE}/TestRetainOnDelete/2/eventstream.json",
    "failed-import": f"{_LIFECYCLE}/TestImportPlanExistingImport/1/eventstream.json",
    "failed-delete-replaced": f"{_LIFECYCLE}/TestPendingDeleteReplacement/1/eventstream.json",
    "policy-mandatory": f"{_LIFECYCLE}/TestSimpleAnalyzeResourceFailure/eventstream.json",
    "failed-without-diagnostic": f"{_DISPLAY}/failed-stacks-dont-rewrite-operations.json",
    "destroy-with-components": f"{_DISPLAY}/destroy-with-components.json",
}
# A fixed stamp: the converted files are deterministic (2026-01-01T00:00:00Z).
TIMESTAMP = 1_767_225_600
# colors.Never.Colorize (sdk/go/common/util/colors): drops every <{%...%}> directive.
_DIRECTIVE = re.compile(r"<\{%[^%]*%\}>")
_COLOURED = {"diagnosticEvent": ("message", "prefix"), "stdoutEvent": ("message",), "policyEvent": ("message",)}


def events(text: str) -> list[dict[str, Any]]:
    """Every JSON object of ``text``, one a line or pretty-printed (as Go's json.Decoder reads them)."""
    decoder, i = json.JSONDecoder(), 0
    out: list[dict[str, Any]] = []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)


def event_log(recorded: list[dict[str, Any]]) -> str:
    lines = []
    for sequence, event in enumerate(recorded):
        event = {**event, "sequence": sequence, "timestamp": TIMESTAMP}
        for kind, keys in _COLOURED.items():
            if isinstance(event.get(kind), dict):
                payload = dict(event[kind])
                for key in keys:
                    if isinstance(payload.get(key), str):
                        payload[key] = _DIRECTIVE.sub("", payload[key])
                payload["color"] = "never"
                event[kind] = payload
        lines.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    checkout = Path(argv[0])
    for name, source in SOURCES.items():
        text = (checkout / source).read_text(encoding="utf-8")
        (HERE / f"{name}.jsonl").write_text(event_log(events(text)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
