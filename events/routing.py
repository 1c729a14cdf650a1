from django.urls import path

from events.consumers import EmailEventConsumer

websocket_urlpatterns = [path("ws/email/", EmailEventConsumer.as_asgi())]
