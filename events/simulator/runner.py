"""Posting simulated traffic to a running server at a steady rate, until a count or a time."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from events.simulator.base import ProviderFormat, SimulationError, WebhookPost
from events.simulator.traffic import Traffic

REQUEST_TIMEOUT_S = 30.0


@dataclass
class Progress:
    posted: int = 0
    stored: int = 0
    duplicates: int = 0
    requests: int = 0


def send(url: str, post: WebhookPost) -> dict:
    """POST one webhook; the server's JSON answer, or SimulationError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise SimulationError(f"the URL must be http or https, not {url!r}")
    # S310: the scheme is checked just above.
    request = urllib.request.Request(url, post.body, post.headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise SimulationError(f"{url} answered {error.code}: {detail}", error.code) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SimulationError(f"cannot reach {url}: {reason}. Is the server running?") from None


def simulate(
    *,
    url: str,
    provider: ProviderFormat,
    traffic: Traffic,
    rate: float,
    batch: int,
    count: int | None,
    duration_s: float | None,
    on_progress: Callable[[Progress], None] = lambda progress: None,
) -> Progress:
    """Post `batch` events per request (one, where the provider posts events one by one) at
    `rate` events a second until `count` events are posted or `duration_s` has passed,
    whichever comes first."""
    progress = Progress()
    per_post = 1 if provider.one_event_per_post else batch
    started = time.monotonic()
    deadline = started + duration_s if duration_s is not None else None
    next_post_at = started

    def finished() -> bool:
        return (count is not None and progress.posted >= count) or (
            deadline is not None and time.monotonic() >= deadline
        )

    while not finished():
        size = per_post if count is None else min(per_post, count - progress.posted)
        answer = send(url, provider.post(url, provider.batch(traffic.take(size))))
        progress.posted += size
        progress.requests += 1
        progress.stored += answer.get("stored", 0)
        progress.duplicates += answer.get("duplicates", 0)
        on_progress(progress)
        next_post_at += size / rate
        if not finished():
            wake_at = next_post_at if deadline is None else min(next_post_at, deadline)
            time.sleep(max(0.0, wake_at - time.monotonic()))
    return progress
