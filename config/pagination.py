"""Page sizes of every list endpoint, one rule: `?page_size=` up to API_MAX_PAGE_SIZE, and a
larger one is clamped to it (not refused: a client asking for "everything" gets full pages
and follows `next`)."""

from django.conf import settings


class ClampedPageSize:
    """Mixed into each DRF pagination class, before it."""

    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE
