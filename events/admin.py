from django.contrib import admin

from events.models import EmailEvent


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "provider", "type", "recipient", "message_id", "campaign")
    list_filter = ("provider", "type")
    search_fields = ("recipient", "message_id", "provider_event_id")
    date_hierarchy = "timestamp"
    readonly_fields = [f.name for f in EmailEvent._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
