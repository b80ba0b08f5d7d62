"""`python -m triton_platform.release`: the promote command (see :mod:`triton_platform.release.promote`);
`python -m triton_platform.release served ...`: record the release a canary rollout promoted to 100 %
(see :mod:`triton_platform.release.served`)."""

import sys

from triton_platform.release import promote, served

if __name__ == "__main__":
    if sys.argv[1:2] == ["served"]:
        raise SystemExit(served.main(sys.argv[2:]))
    raise SystemExit(promote.main())
