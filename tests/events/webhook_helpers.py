"""Building and signing provider webhooks the way the providers do, for the tests."""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

TESTSERVER = "http://testserver"


def mandrill_signature(key: str, url: str, params: dict[str, str]) -> str:
    """Mandrill: base64(HMAC-SHA1(key, url + each sorted key and value))."""
    signed = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def mandrill_event(
    event: str = "delivered",
    email: str = "ada@example.com",
    message_id: str = "msg-1",
    ts: int | None = None,
    **extra,
) -> dict:
    """One Mandrill webhook event, shaped as in Mandrill's webhook docs."""
    msg = {
        "_id": message_id,
        "email": email,
        "sender": "news@shop.example",
        "subject": "Autumn sale",
        "state": "sent",
        "tags": ["autumn"],
        "metadata": extra.pop("metadata", {}),
        "ts": ts or int(time.time()) - 5,
    }
    msg.update(extra.pop("msg", {}))
    body = {"event": event, "_id": message_id, "msg": msg, "ts": ts or int(time.time())}
    body.update(extra)
    return body


def post_mandrill(client, events: list[dict], key: str | None = None, path="/api/hook/mandrill/"):
    """Post a Mandrill batch as a form, signed with `key` when given."""
    params = {"mandrill_events": json.dumps(events)}
    headers = {}
    if key:
        headers["HTTP_X_MANDRILL_SIGNATURE"] = mandrill_signature(key, TESTSERVER + path, params)
    return client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers
    )


def post_json(client, path: str, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **headers)


def basic_auth(credentials: str) -> dict:
    token = base64.b64encode(credentials.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}
