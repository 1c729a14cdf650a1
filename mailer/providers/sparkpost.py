"""SparkPost: an API key, optionally a subaccount; api_url for the EU region."""

from mailer.providers.base import ProviderKind

kind = ProviderKind(
    slug="sparkpost",
    backend_path="anymail.backends.sparkpost.EmailBackend",
    credential_fields=("api_key", "subaccount", "api_url"),
    required=("api_key",),
)
