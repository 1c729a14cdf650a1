from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Email events"

    def ready(self) -> None:
        import warnings

        from anymail.exceptions import AnymailInsecureWebhookWarning, AnymailNotSupportedWarning

        from events import broadcast, checks, live_store, observers  # noqa: F401 (checks)

        # Order matters: the live store gives each batch the cursor the broadcaster sends.
        observers.register("live_store")(live_store.record_batch)
        observers.register("broadcaster")(broadcast.broadcast_batch)

        # Our own check (events.W001) and the dashboard say which webhooks are open.
        warnings.filterwarnings("ignore", category=AnymailInsecureWebhookWarning)
        # anymail notes it no longer tests SendGrid officially; our tests cover our use.
        warnings.filterwarnings("ignore", category=AnymailNotSupportedWarning)
