from functools import cached_property

from django.contrib import admin
from django.core.paginator import Paginator

from events.models import EmailEvent
from events.partitions import partitions_list

# Lists count at most this many rows (a filtered list with more shows this many).
COUNT_MAX = 10_000


class EstimatedCountPaginator(Paginator):
    """Pages of events without COUNT(*) over hundreds of millions of rows: rows are counted up
    to COUNT_MAX; beyond that, the unfiltered list shows the planner's estimate."""

    @cached_property
    def count(self) -> int:
        counted = self.object_list[:COUNT_MAX].count()
        if counted < COUNT_MAX or self.object_list.query.where:
            return counted
        return max(counted, sum(max(p.rows_estimate, 0) for p in partitions_list()))


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "provider", "type", "recipient", "message_id", "campaign")
    list_filter = ("provider", "type")
    search_fields = ("recipient", "message_id", "provider_event_id")
    # No date_hierarchy: its year links read every event's time (DISTINCT over the table).
    readonly_fields = [f.name for f in EmailEvent._meta.fields]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request):
        return False
