"""Test helpers: Pulumi mocks, tool locations, servers on 127.0.0.1."""
