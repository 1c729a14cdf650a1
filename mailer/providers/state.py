"""Provider health in Redis, shared by every worker: misconfigured flags, circuit breakers,
throttles, per-second rate windows, per-day send counters and recent sends.

Keys live under `<REDIS_KEY_PREFIX>:provider:<account id>:`:
- `misconfigured`: JSON {reason, saved}; holds until an operator clears it or the account is
  saved again (its `updated_at` no longer matches `saved`).
- `failures`: consecutive outage failures (INCR, expiring after PROVIDER_FAILURE_WINDOW_S).
- `tripped`: the breaker is not closed. `open` (expiring after PROVIDER_BREAKER_COOLDOWN_S):
  nothing goes through. `tripped` without `open` is half-open: the worker that wins
  `probe` (SET NX, expiring) sends one message; success closes, failure re-opens.
- `throttled`: the reason, expiring when the provider's window resets (Retry-After); a used-up
  daily quota throttles through the day's counter instead, until the end of the UTC day.
- `rate:<epoch second>` and `sent:<UTC date>`: counters bumped together by one Lua script, so
  no two workers can take the last slot of a second or of a day.
- `recent`: the last PROVIDER_RECENT_SENDS outcomes ("ok <latency ms>" or "err").
- `published`: the last status sent to dashboards; a change is published once, by one worker.
- `unanswered:<Message-ID>`: this account left that message's send unanswered (a timeout after
  the request went out), so the message's next attempt tries the other accounts first.
"""

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django_redis import get_redis_connection

from config import metrics
from events.progress import publish_progress
from mailer.models import ProviderAccount
from mailer.providers import kind_for
from mailer.providers.base import Failure, Verdict

HEALTHY, OPEN, HALF_OPEN = "healthy", "open", "half_open"
THROTTLED, MISCONFIGURED, DISABLED = "throttled", "misconfigured", "disabled"

_DAY_KEY_EXTRA_S = 3600

# Returns the day's count after taking a slot, -1 when this second is used up, -2 the day.
_RESERVE = """
local quota = tonumber(ARGV[2])
if quota > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= quota then return -2 end
local rate = tonumber(ARGV[1])
if rate > 0 then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('EXPIRE', KEYS[1], 2) end
  if n > rate then return -1 end
end
local sent = redis.call('INCR', KEYS[2])
if sent == 1 then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3])) end
return sent
"""
RATE_USED_UP, QUOTA_USED_UP = -1, -2


def breaker_failures() -> int:
    return int(settings.PROVIDER_BREAKER_FAILURES)


def breaker_cooldown_s() -> float:
    return settings.PROVIDER_BREAKER_COOLDOWN_S


def _redis():
    return get_redis_connection("default")


def key(account_id: int, *parts: object) -> str:
    return ":".join((settings.REDIS_KEY_PREFIX, "provider", str(account_id), *map(str, parts)))


def _today() -> date:
    return datetime.now(UTC).date()


def _end_of_day() -> datetime:
    return datetime.combine(_today() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _seconds_to_end_of_day() -> float:
    return max(1.0, (_end_of_day() - datetime.now(UTC)).total_seconds())


def _in(ms: int | None) -> str | None:
    if ms is None or ms < 0:
        return None
    return (datetime.now(UTC) + timedelta(milliseconds=ms)).isoformat()


def announce(account_id: int, status: str, reason: str = "", until: str | None = None) -> None:
    """Tell dashboards about a status, only if it is not the last one told (across workers)."""
    previous = _redis().set(key(account_id, "published"), status, get=True)
    if (previous.decode() if previous else HEALTHY) != status:
        publish_progress(
            kind="provider", object_id=account_id, status=status, reason=reason, until=until
        )


# --- what stops an account from sending now


@dataclass(frozen=True)
class Gate:
    """May this account send the next message? `probe`: it is the half-open breaker's one."""

    allowed: bool
    reason: str = ""
    probe: bool = False


def _misconfigured(raw: bytes | None, account: ProviderAccount) -> str | None:
    if not raw:
        return None
    flag = json.loads(raw)
    if flag.get("saved") != account.updated_at.isoformat():
        return None  # saved again since: try it again
    return flag["reason"]


def gate(account: ProviderAccount) -> Gate:
    unavailable = kind_for(account.kind).unavailable_reason()
    if unavailable:
        announce(account.pk, MISCONFIGURED, unavailable)
        return Gate(False, unavailable)
    pipe = _redis().pipeline(transaction=False)
    pipe.get(key(account.pk, "misconfigured"))
    pipe.get(key(account.pk, "throttled"))
    pipe.exists(key(account.pk, "tripped"))
    pipe.pttl(key(account.pk, "open"))
    pipe.get(key(account.pk, "sent", _today()))
    misconfigured, throttled, tripped, open_ms, sent_today = pipe.execute()
    reason = _misconfigured(misconfigured, account)
    if reason:
        return Gate(False, f"misconfigured: {reason}")
    if throttled:
        return Gate(False, f"throttled: {throttled.decode()}")
    if account.daily_quota is not None and int(sent_today or 0) >= account.daily_quota:
        return Gate(False, f"daily quota of {account.daily_quota} used up")
    if not tripped:
        return Gate(True)
    if open_ms > 0 or open_ms == -1:
        return Gate(False, "circuit open")
    probe_ttl_s = int(2 * settings.EMAIL_TIMEOUT + 5)
    if not _redis().set(key(account.pk, "probe"), 1, nx=True, ex=probe_ttl_s):
        return Gate(False, "half-open: a probe is in flight")
    announce(account.pk, HALF_OPEN, "cool-down over: one message goes through as a probe")
    return Gate(True, probe=True)


def reserve(account: ProviderAccount) -> int:
    """Take a slot of this second and of today: the day's count, or RATE_USED_UP or
    QUOTA_USED_UP (then the provider is throttled until the end of the day)."""
    keys = [key(account.pk, "rate", int(time.time())), key(account.pk, "sent", _today())]
    ttl_s = int(_seconds_to_end_of_day()) + _DAY_KEY_EXTRA_S
    args = [account.rate_limit_per_s or 0, account.daily_quota or 0, ttl_s]
    taken = _redis().eval(_RESERVE, len(keys), *keys, *args)
    if taken == QUOTA_USED_UP:
        # No throttle key: the count itself holds the provider back, so raising the quota
        # lets it send again at once.
        reason = f"daily quota of {account.daily_quota} used up"
        announce(account.pk, THROTTLED, reason, _end_of_day().isoformat())
    return taken


def release_probe(account: ProviderAccount) -> None:
    """Hand the half-open probe to the next message (this one was not sent)."""
    _redis().delete(key(account.pk, "probe"))


def release(account: ProviderAccount) -> None:
    """Give back today's slot of a message the provider did not take."""
    _redis().decr(key(account.pk, "sent", _today()))


def throttle(account_id: int, reason: str, for_s: float) -> None:
    ms = max(1, int(for_s * 1000))
    _redis().set(key(account_id, "throttled"), reason, px=ms)
    announce(account_id, THROTTLED, reason, _in(ms))


# --- what a send tells about the provider


def _remember(
    account: ProviderAccount, outcome: str, *, closing: bool, result: str
) -> bytes | None:
    """Note a send among the account's recent ones and, for /metrics, as `result` (sent, or
    the failure's verdict): one round trip."""
    account_id = account.pk
    pipe = _redis().pipeline(transaction=False)
    metrics.count_send(pipe, provider=account.kind, outcome=result)
    recent = key(account_id, "recent")
    pipe.lpush(recent, outcome)
    pipe.ltrim(recent, 0, int(settings.PROVIDER_RECENT_SENDS) - 1)
    if closing:
        pipe.delete(*(key(account_id, name) for name in ("failures", "tripped", "open", "probe")))
    pipe.get(key(account_id, "published"))
    return pipe.execute()[-1]


def record_success(
    account: ProviderAccount, latency_ms: float | None, result: str = "sent"
) -> None:
    """The provider answered (took the message, or refused it for the message's own fault)."""
    outcome = "ok" if latency_ms is None else f"ok {latency_ms:.1f}"
    published = _remember(account, outcome, closing=True, result=result)
    if published and published.decode() != HEALTHY:
        announce(account.pk, HEALTHY, "sending")


def record_failure(account: ProviderAccount, failure: Failure, *, probe: bool) -> None:
    if failure.verdict in (Verdict.REJECTED, Verdict.DEFERRED):
        record_success(account, None, result=failure.verdict.value)
        return
    _remember(account, "err", closing=False, result=failure.verdict.value)
    if probe:
        _redis().delete(key(account.pk, "probe"))
    if failure.verdict is Verdict.MISCONFIGURED:
        saved = account.updated_at.isoformat()
        flag = json.dumps({"reason": failure.reason, "saved": saved})
        _redis().set(key(account.pk, "misconfigured"), flag)
        announce(account.pk, MISCONFIGURED, failure.reason)
    elif failure.verdict is Verdict.THROTTLED:
        window_s = failure.retry_after_s or settings.PROVIDER_THROTTLE_DEFAULT_S
        throttle(account.pk, failure.reason, window_s)
    elif probe:
        _open(account.pk, f"probe failed: {failure.reason}")
    else:
        _count_outage(account.pk, failure.reason)


def _count_outage(account_id: int, reason: str) -> None:
    pipe = _redis().pipeline(transaction=False)
    pipe.incr(key(account_id, "failures"))
    pipe.expire(key(account_id, "failures"), int(settings.PROVIDER_FAILURE_WINDOW_S))
    failures, _ = pipe.execute()
    if failures >= breaker_failures():
        _open(account_id, f"{failures} failures in a row, last: {reason}")


def _open(account_id: int, reason: str) -> None:
    cooldown_ms = max(1, int(breaker_cooldown_s() * 1000))
    pipe = _redis().pipeline(transaction=False)
    pipe.set(key(account_id, "tripped"), reason, ex=7 * 24 * 3600)
    pipe.set(key(account_id, "open"), reason, px=cooldown_ms)
    pipe.delete(key(account_id, "failures"))
    pipe.execute()
    announce(account_id, OPEN, reason, _in(cooldown_ms))


# --- which account left a message unanswered

# Longer than any retry of a message waits (chunk retries back off up to 30 minutes).
UNANSWERED_MEMORY_S = 24 * 3600


def unanswered_note(account: ProviderAccount, message_id: str) -> None:
    _redis().set(key(account.pk, "unanswered", message_id), 1, ex=UNANSWERED_MEMORY_S)


def unanswered_accounts(accounts: list[ProviderAccount], message_id: str) -> set[int]:
    """The ids of these accounts that left this message's send unanswered before."""
    pipe = _redis().pipeline(transaction=False)
    for account in accounts:
        pipe.exists(key(account.pk, "unanswered", message_id))
    return {account.pk for account, found in zip(accounts, pipe.execute(), strict=True) if found}


# --- reading, for the API, the pages and the router's totals


def _recent(entries: list[bytes]) -> tuple[float, float | None]:
    outcomes = [entry.decode() for entry in entries]
    if not outcomes:
        return 0.0, None
    latencies = [float(o.split()[1]) for o in outcomes if o.startswith("ok ")]
    error_rate = sum(o == "err" for o in outcomes) / len(outcomes)
    return round(error_rate, 3), (round(sum(latencies) / len(latencies), 1) if latencies else None)


def _status(account: ProviderAccount, values: list, quota_left: int | None) -> tuple:
    misconfigured, throttled, throttled_ms, tripped, open_ms = values
    unavailable = kind_for(account.kind).unavailable_reason()
    if not account.enabled:
        return DISABLED, "disabled by an operator", None
    if unavailable:
        return MISCONFIGURED, unavailable, None
    reason = _misconfigured(misconfigured, account)
    if reason:
        return MISCONFIGURED, reason, None
    if tripped and (open_ms > 0 or open_ms == -1):
        return OPEN, tripped.decode(), _in(open_ms)
    if tripped:
        return HALF_OPEN, "cool-down over: the next message is a probe", None
    if quota_left == 0:
        return THROTTLED, f"daily quota of {account.daily_quota} used up", _end_of_day().isoformat()
    if throttled:
        return THROTTLED, throttled.decode(), _in(throttled_ms)
    return HEALTHY, "", None


def provider_states(accounts) -> dict[int, dict]:
    """Each account's health, by account id: status (healthy, open, half_open, throttled,
    misconfigured, disabled), reason, until (ISO datetime or None), sent_today, quota_left
    (None: unlimited), error_rate (share of provider failures in the last sends) and
    latency_ms (their mean, None before any)."""
    accounts = list(accounts)
    pipe = _redis().pipeline(transaction=False)
    for account in accounts:
        pipe.get(key(account.pk, "misconfigured"))
        pipe.get(key(account.pk, "throttled"))
        pipe.pttl(key(account.pk, "throttled"))
        pipe.get(key(account.pk, "tripped"))
        pipe.pttl(key(account.pk, "open"))
        pipe.get(key(account.pk, "sent", _today()))
        pipe.lrange(key(account.pk, "recent"), 0, -1)
    values = pipe.execute()
    states = {}
    for index, account in enumerate(accounts):
        row = values[index * 7 : index * 7 + 7]
        sent_today = int(row[5] or 0)
        quota_left = None
        if account.daily_quota is not None:
            quota_left = max(0, account.daily_quota - sent_today)
        status, reason, until = _status(account, row[:5], quota_left)
        error_rate, latency_ms = _recent(row[6])
        states[account.pk] = {
            "status": status,
            "reason": reason,
            "until": until,
            "sent_today": sent_today,
            "quota_left": quota_left,
            "error_rate": error_rate,
            "latency_ms": latency_ms,
        }
    return states


def provider_clear_misconfigured(account_id: int) -> None:
    """An operator says the account is fixed: it is tried again with the next message."""
    _redis().delete(key(account_id, "misconfigured"))
    account = ProviderAccount.objects.filter(pk=account_id).first()
    if account is not None:
        state = provider_states([account])[account_id]
        announce(account_id, state["status"], state["reason"] or "cleared", state["until"])


def provider_states_announce(accounts) -> None:
    """Publish the changes time alone makes (a cool-down or a throttle window ending)."""
    for account_id, state in provider_states(accounts).items():
        announce(account_id, state["status"], state["reason"], state["until"])
