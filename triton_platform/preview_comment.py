"""`python -m triton_platform.preview_comment`: kept entry point of the PR comment (now `python -m triton_platform.preview`)."""

from triton_platform.preview.comment import main

if __name__ == "__main__":
    raise SystemExit(main())
