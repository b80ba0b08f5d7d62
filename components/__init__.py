"""One ComponentResource (or dynamic provider) per file, each named for what it provisions."""
