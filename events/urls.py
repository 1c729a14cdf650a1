from django.urls import path

from events import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("messages/<path:message_id>/", views.message_timeline, name="message-timeline"),
]
