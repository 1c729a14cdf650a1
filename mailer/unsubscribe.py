"""Unsubscribe links: a signed token naming one message, so a link works without a login,
cannot be guessed, and tells us which campaign the person left from."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from mailer.models import Message

_SALT = "mailpulse.unsubscribe"


def unsubscribe_token(message: Message) -> str:
    return signing.dumps(str(message.uid), salt=_SALT, compress=True)


def message_for_token(token: str) -> Message | None:
    """The message a token was made for, or None when the token is forged or unknown."""
    try:
        uid = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return Message.objects.select_related("subscriber", "campaign").filter(uid=uid).first()


def unsubscribe_url(message: Message) -> str:
    """The absolute one-click URL for the List-Unsubscribe header and the {{ unsubscribe_url }}
    merge tag: GET shows a confirmation page, POST (RFC 8058 one-click) unsubscribes."""
    path = reverse("unsubscribe", kwargs={"token": unsubscribe_token(message)})
    return settings.SITE_URL.rstrip("/") + path


def list_unsubscribe_headers(message: Message) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (URL and mailto) with RFC 8058 one-click."""
    links = [f"<{unsubscribe_url(message)}>"]
    if settings.UNSUBSCRIBE_MAILTO:
        links.append(f"<mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe-{message.uid}>")
    return {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
