"""LICENSE: the Apache License 2.0, as Triton and Pulumi use, verbatim."""

from __future__ import annotations

import hashlib

from tests.support.script_sandbox import REPO

# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt (the text GitHub and SPDX recognise).
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_the_license_is_the_unmodified_apache_2_0_text() -> None:
    text = (REPO / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in text
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256
