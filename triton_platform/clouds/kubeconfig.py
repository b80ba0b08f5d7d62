"""The local kubeconfig file: written by every program run, readable by its owner only.

A cluster's kubeconfig lives in the Pulumi state (a secret output). Tools beside ``pulumi up``
(the publisher's Secret lookup and engine builder, kubectl) read it from a file, and every
machine that shares the state (a teammate's checkout, a CI runner) needs that file, not only
the one where the cluster was created. So the program writes it whenever the value is known,
on ``pulumi up`` and ``pulumi preview`` alike. Plain Python: no Pulumi.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private_file(path: str | os.PathLike[str], text: str) -> str:
    """Write ``text`` to ``path`` atomically with mode 0600; a no-op when it already holds it.

    The temporary file is created 0600 in the target directory (``mkstemp``), so the contents
    are never readable by others, not even for an instant, and a reader never sees half a file.
    Returns the path.
    """
    target = Path(path)
    data = text.encode("utf-8")
    with contextlib.suppress(OSError):
        if target.read_bytes() == data and (target.stat().st_mode & 0o777) == PRIVATE_MODE:
            return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, PRIVATE_MODE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return str(target)
