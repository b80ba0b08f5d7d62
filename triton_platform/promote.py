"""`python -m triton_platform.promote`: old entry point, now `python -m triton_platform.release`."""

from triton_platform.release.promote import main

if __name__ == "__main__":
    raise SystemExit(main())
