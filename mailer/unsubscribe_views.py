"""Unsubscribing from a link in an email: a confirmation page (GET), and the unsubscribe
itself (POST), which is also the RFC 8058 one-click POST that mail clients send."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailer.services.unsubscribe import message_unsubscribe
from mailer.unsubscribe import message_for_token


# The signed token is the credential: mail clients post one-click without a CSRF token.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    message = message_for_token(token)
    if message is None:
        return render(request, "mailer/unsubscribe_invalid.html", status=404)
    if request.method == "GET":
        return render(request, "mailer/unsubscribe_confirm.html", {"message": message})
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    message_unsubscribe(message=message, source="one-click" if one_click else "page")
    return render(request, "mailer/unsubscribe_done.html", {"message": message})
