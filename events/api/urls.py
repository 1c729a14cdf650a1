from django.urls import path

from events.api.events import (
    EventDetailView,
    EventListView,
    LiveView,
    MessageTimelineView,
    StatsView,
)
from events.api.export import EventExportView
from events.api.webhooks import ProviderWebhookView, WebhookView

urlpatterns = [
    path("hook/", WebhookView.as_view(), name="webhook"),
    path("hook/<str:provider>/", ProviderWebhookView.as_view(), name="webhook-provider"),
    path("events/", EventListView.as_view(), name="event-list"),
    path("events/live/", LiveView.as_view(), name="event-live"),
    path("events/stats/", StatsView.as_view(), name="event-stats"),
    path("events/export/", EventExportView.as_view(), name="event-export"),
    path("events/<int:pk>/", EventDetailView.as_view(), name="event-detail"),
    path("messages/<path:message_id>/events/", MessageTimelineView.as_view(), name="timeline"),
]
