from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api import HealthView, TokenView
from config.docs import published_doc

handler404 = "config.api_errors.not_found"
handler500 = "config.api_errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("doc", SpectacularSwaggerView.as_view(url_name="schema"), name="doc"),
    path("doc/<str:name>", published_doc, name="published-doc"),
    path("api/", include("events.api.urls")),
    path("api/", include("mailer.api.urls")),
    path("audience/", include("mailer.audience_urls")),
    path("unsubscribe/", include("mailer.unsubscribe_urls")),
    path("campaigns/", include("mailer.urls")),
    path("settings/providers/", include("mailer.provider_urls")),
    path("", include("events.urls")),
]
