"""The sandbox provider: Mailpulse's own pretend ESP, for demos and tests with no account.

`backend.SandboxEmailBackend` accepts mail like an ESP's API (after a configurable latency, or
failing when "down" or "flaky"); `timeline` decides what then happens to each message
(delivered, bounced, opened, clicked...); `webhooks` and the task in `mailer.sandbox_tasks`
post those events back to /api/hook/ as a real provider would, signed with that provider's
webhook secret from the settings.
"""
