from django.apps import AppConfig


class MailerConfig(AppConfig):
    name = "mailer"
    verbose_name = "Mailer"

    def ready(self) -> None:
        from events import observers
        from mailer.observers import update_message_states, update_suppressions

        observers.register("message_states")(update_message_states)
        observers.register("suppressions")(update_suppressions)
