import signal
import socket

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import event, log_in, post_events

pytestmark = pytest.mark.e2e

# Startup of the second server under a loaded machine; the page waits in its accept queue.
LIVE_AGAIN_WITHIN_MS = 30_000
RECORD_STATUS_TEXTS = """() => {
  const status = document.querySelector("#connection");
  window.statusTexts = [];
  new MutationObserver(() => window.statusTexts.push(status.textContent)).observe(
    status, {childList: true, characterData: true, subtree: true});
}"""


def test_dashboard_moves_at_once_to_another_server_when_its_server_goes_away(
    start_server, oncall, page
):
    """Two servers share one listening socket, as two web servers share a proxy's address.
    SIGTERM to the one the page is on closes its websocket with 1001 "going away"; the page
    reconnects without a backoff wait to the other and resumes without a gap."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        first = start_server(port=port, fd=listener.fileno())
        log_in(page, first)
        status = page.locator("#connection")
        expect(status).to_have_text("Live")
        post_events(first, [event("delivered", "before@example.com", "m-0", seconds_ago=30)])
        rows = page.locator("#feed tbody tr")
        expect(rows).to_have_count(1)
        second = start_server(port=port, fd=listener.fileno())
    page.evaluate(RECORD_STATUS_TEXTS)

    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(30) == 0
    post_events(second, [event("delivered", f"gap{i}@example.com", f"m-{i + 1}") for i in range(2)])

    expect(status).to_have_text("Live", timeout=LIVE_AGAIN_WITHIN_MS)
    expect(rows).to_have_count(3)
    for i in range(2):
        expect(rows.filter(has_text=f"gap{i}@example.com")).to_have_count(1)
    texts = page.evaluate("window.statusTexts")
    assert any(text.startswith("Reconnecting") for text in texts), texts
    assert not [text for text in texts if "next try" in text], texts
