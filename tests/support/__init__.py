"""What the tests share: settings, HTTP helpers, waits, service processes, a fake WMS.

Fixtures live in ``tests/conftest.py``; the plain functions and classes they
and the tests use live here, so a test module imports them like any other code.
"""
