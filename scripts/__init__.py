"""Run by hand or by CI: the shell scripts beside this file (set-up, tests, the dev stack) and small
Python tools (a new stack file, a smoke request to a running Triton)."""
