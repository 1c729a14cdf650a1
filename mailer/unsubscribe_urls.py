from django.urls import path

from mailer.unsubscribe_views import unsubscribe

urlpatterns = [path("<str:token>/", unsubscribe, name="unsubscribe")]
