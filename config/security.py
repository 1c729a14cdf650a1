"""Security headers Django 5.2 does not set itself: Content-Security-Policy and
Permissions-Policy. (SecurityMiddleware already sets X-Content-Type-Options: nosniff and
Referrer-Policy; XFrameOptionsMiddleware sets X-Frame-Options: DENY.)

Every page loads only static scripts and stylesheets from this origin; no template has an
inline script, inline style attribute or event handler (scripts that size elements do it
through element.style, which CSP allows). The live dashboard's websocket needs ws:/wss:.
The Swagger UI at /doc is served by drf-spectacular's split view, so its init script is a
file of its own too; only its small inline <style> block is refused, which is harmless.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

DEFAULT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
DEFAULT_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy to every response that has none.

    Configurable with CONTENT_SECURITY_POLICY and PERMISSIONS_POLICY (an empty value leaves
    the header out). Synchronous and asynchronous stacks both work: it only sets headers.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = settings.CONTENT_SECURITY_POLICY
        self.permissions = settings.PERMISSIONS_POLICY
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._add_headers(self.get_response(request))

    async def _acall(self, request):
        return self._add_headers(await self.get_response(request))

    def _add_headers(self, response):
        if self.csp:
            response.headers.setdefault("Content-Security-Policy", self.csp)
        if self.permissions:
            response.headers.setdefault("Permissions-Policy", self.permissions)
        return response
