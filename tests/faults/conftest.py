"""The browser fixtures of tests/e2e, for the fault tests that also watch a real page."""

from tests.e2e.conftest import browser, oncall, page, start_server  # noqa: F401
