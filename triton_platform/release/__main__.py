"""`python -m triton_platform.release`: the promote command (see :mod:`triton_platform.release.promote`)."""

from triton_platform.release.promote import main

if __name__ == "__main__":
    raise SystemExit(main())
