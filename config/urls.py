from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api import HealthView, TokenView
from config.auth_views import ThrottledLoginView, admin_login
from config.docs import published_doc
from config.metrics_view import metrics_view

handler400 = "config.api_errors.bad_request"
handler404 = "config.api_errors.not_found"
handler500 = "config.api_errors.server_error"

urlpatterns = [
    # Before the admin's and Django's auth URLs: these logins refuse repeated failures.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file, so /doc runs under the CSP.
    path("doc", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="doc"),
    path("doc/<str:name>", published_doc, name="published-doc"),
    path("api/", include("events.api.urls")),
    path("api/", include("mailer.api.urls")),
    path("audience/", include("mailer.audience_urls")),
    path("unsubscribe/", include("mailer.unsubscribe_urls")),
    path("campaigns/", include("mailer.urls")),
    path("settings/providers/", include("mailer.provider_urls")),
    path("", include("events.urls")),
]
