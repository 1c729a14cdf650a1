"""Provider accounts: where mail goes out, in which order, how fast and how much."""

from django.db import models

from mailer.crypto import decrypt_json, encrypt_json


class ProviderAccount(models.Model):
    class Kind(models.TextChoices):
        MANDRILL = "mandrill"
        MAILGUN = "mailgun"
        SENDGRID = "sendgrid"
        SPARKPOST = "sparkpost"
        AMAZON_SES = "amazon_ses"
        POSTMARK = "postmark"
        BREVO = "brevo"
        MAILJET = "mailjet"
        RESEND = "resend"
        SMTP = "smtp"
        SANDBOX = "sandbox"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Encrypted JSON (mailer.crypto); read and write through `credentials`.
    encrypted_credentials = models.TextField(blank=True, editable=False)
    # Lower sends first.
    priority = models.PositiveSmallIntegerField(default=100)
    rate_limit_per_s = models.PositiveIntegerField(null=True, blank=True)
    daily_quota = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def __repr__(self) -> str:
        # Never show credentials, even encrypted, in debug output.
        return f"<ProviderAccount {self.pk} {self.name!r} {self.kind}>"

    @property
    def credentials(self) -> dict:
        return decrypt_json(self.encrypted_credentials) if self.encrypted_credentials else {}

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.encrypted_credentials = encrypt_json(value) if value else ""
