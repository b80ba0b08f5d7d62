"""Test helpers, no tests: Pulumi mocks, stack configs and placeholder models built in code, fakes of the
publisher, servers on 127.0.0.1 (and their fixtures, in ``stores``), tool locations, the integration marker's checks."""
