"""`python -m triton_platform.preview_comment`: old entry point, now `python -m triton_platform.preview`."""

from triton_platform.preview.comment import main

if __name__ == "__main__":
    raise SystemExit(main())
