"""The mailer's REST API: audience (subscribers, lists, segments, imports, suppressions) and
campaigns (campaigns, messages)."""

from mailer.api import audience, campaigns, providers

urlpatterns = [*audience.urlpatterns, *campaigns.urlpatterns, *providers.urlpatterns]
