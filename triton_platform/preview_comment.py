"""`python -m triton_platform.preview_comment`: the old entry point of the PR comment (`python -m triton_platform.preview`)."""

from triton_platform.preview.comment import main

if __name__ == "__main__":
    raise SystemExit(main())
