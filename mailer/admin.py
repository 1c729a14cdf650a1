import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from mailer.models import (
    Campaign,
    MailingList,
    ProviderAccount,
    Segment,
    Subscriber,
    SubscriberImport,
    Suppression,
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "subject")


# --- audience


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "status", "is_active", "created_at")
    list_filter = ("status", "is_active", "lists")
    search_fields = ("email", "first_name", "last_name")


@admin.register(MailingList)
class MailingListAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)
    raw_id_fields = ("event",)


@admin.register(SubscriberImport)
class SubscriberImportAdmin(admin.ModelAdmin):
    list_display = ("original_name", "status", "total_rows", "error_count", "created_at")
    list_filter = ("status",)
    # The file itself can be megabytes; the admin shows the counts, not the bytes.
    exclude = ("content",)
    readonly_fields = ("errors", "mapping", "created_by", "finished_at")


# --- provider accounts: credentials are write-only (never shown, not even encrypted)


class ProviderAccountAdminForm(forms.ModelForm):
    credentials_json = forms.CharField(
        label="Credentials",
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text="A JSON object of the kind's credential fields, e.g. "
        '{"api_key": "…"}. Never shown once saved: leave blank to keep the stored value, '
        "or give them all to replace it.",
    )

    class Meta:
        model = ProviderAccount
        fields = ("name", "kind", "priority", "rate_limit_per_s", "daily_quota", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Never prefilled, even after an invalid submit.
        self.fields["credentials_json"].widget.render = _render_blank(
            self.fields["credentials_json"].widget.render
        )

    def clean(self):
        from mailer.services.providers import credentials_errors

        data = super().clean()
        kind = data.get("kind")
        text = data.get("credentials_json") or ""
        if not text:
            if not self.instance.pk:
                self.add_error("credentials_json", "Give the credentials of the new account.")
            elif kind and kind != self.instance.kind:
                self.add_error("credentials_json", f"The kind changed: give {kind} credentials.")
            self.new_credentials = None
            return data
        try:
            credentials = json.loads(text)
        except ValueError:
            # Not the text itself: it may hold a secret.
            raise ValidationError({"credentials_json": "Not valid JSON."}) from None
        if kind:
            for error in credentials_errors(kind, credentials):
                self.add_error("credentials_json", error)
        self.new_credentials = credentials
        return data


def _render_blank(render):
    def blank(name, value, attrs=None, renderer=None):
        return render(name, "", attrs, renderer)

    return blank


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountAdminForm
    list_display = ("name", "kind", "priority", "rate_limit_per_s", "daily_quota", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        from mailer.services.providers import credentials_check

        if form.new_credentials is not None:
            obj.credentials = credentials_check(obj.kind, form.new_credentials)
        super().save_model(request, obj, form, change)
