"""`python -m triton_platform.preview`: the pull-request comment (see :mod:`triton_platform.preview.comment`)."""

from triton_platform.preview.comment import main

if __name__ == "__main__":
    raise SystemExit(main())
