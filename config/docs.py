"""Serves the project's protocol documents next to Swagger UI, so /doc can link to them."""

from django.conf import settings
from django.http import FileResponse, Http404

PUBLISHED_DOCS = {"websocket.md"}


def published_doc(request, name: str):
    if name not in PUBLISHED_DOCS:
        raise Http404(name)
    path = settings.BASE_DIR / "docs" / name
    return FileResponse(path.open("rb"), content_type="text/markdown; charset=utf-8")
