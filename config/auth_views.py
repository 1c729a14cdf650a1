"""The login page, refusing a username from one address after repeated failed logins.

After LOGIN_FAILURE_LIMIT failed logins for one username from one client address within
LOGIN_FAILURE_WINDOW_S seconds, every further login for that pair (right password or not)
is refused with 429 until the window ends; a successful login clears the count. Counts live
in the cache (Redis). The client address is REMOTE_ADDR: behind a proxy, the proxy must pass
the real address on (X-Forwarded-For is not trusted, since any client could set it).
If the cache is unreachable the page still logs people in (fail open) and says so in the log.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

logger = logging.getLogger(__name__)

THROTTLED_MESSAGE = (
    "Too many failed logins for this username from your address. "
    "Wait {minutes} minute(s) and try again."
)


def failure_key(username: str, address: str) -> str:
    """Cache key of one username+address pair; hashed, so the cache holds no usernames."""
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


class ThrottledLoginView(LoginView):
    def _key(self) -> str:
        username = self.request.POST.get("username", "")
        return failure_key(username, self.request.META.get("REMOTE_ADDR", ""))

    def _failures(self) -> int:
        try:
            return int(cache.get(self._key(), 0))
        except Exception:
            logger.warning("login throttle unavailable: cache unreachable", exc_info=True)
            return 0

    def post(self, request, *args, **kwargs):
        if self._failures() >= settings.LOGIN_FAILURE_LIMIT:
            logger.warning(
                "login refused: too many failures", extra={"ip": request.META.get("REMOTE_ADDR")}
            )
            minutes = max(1, round(settings.LOGIN_FAILURE_WINDOW_S / 60))
            message = THROTTLED_MESSAGE.format(minutes=minutes)
            # A bound form carrying only this error: the password is never checked.
            form = self.get_form()
            form._errors, form.cleaned_data = ErrorDict(), {}
            form.add_error(None, ValidationError(message, code="throttled"))
            context = self.get_context_data(form=form, throttled=message)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        key = self._key()
        try:
            cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_S)
            cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S)
        except Exception:
            logger.warning("login throttle unavailable: cache unreachable", exc_info=True)
        return super().form_invalid(form)

    def form_valid(self, form):
        try:
            cache.delete(self._key())
        except Exception:
            logger.warning("login throttle unavailable: cache unreachable", exc_info=True)
        return super().form_valid(form)


def admin_login(request: HttpRequest) -> HttpResponse:
    """/admin/login/: the admin's own login (AdminSite.login), with the same throttle."""
    site = admin.site
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    context = {
        **site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    request.current_app = site.name
    return ThrottledLoginView.as_view(
        extra_context=context,
        authentication_form=site.login_form or AdminAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )(request)
