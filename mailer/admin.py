from django.contrib import admin

from mailer.models import (
    Campaign,
    MailingList,
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
