"""Amazon SES (v2 API through boto3): an access key pair and a region; api_url points boto3 at
another endpoint. Unavailable, with the reason, when boto3 is not installed
(`pip install "django-anymail[amazon-ses]"`)."""

from mailer.providers.base import ProviderKind


def _to_kwargs(credentials: dict) -> dict:
    session = {
        "aws_access_key_id": credentials.get("access_key_id"),
        "aws_secret_access_key": credentials.get("secret_access_key"),
        "region_name": credentials.get("region"),
    }
    kwargs = {"session_params": {k: v for k, v in session.items() if v}}
    if credentials.get("api_url"):
        kwargs["client_params"] = {"endpoint_url": credentials["api_url"]}
    if credentials.get("configuration_set_name"):
        kwargs["configuration_set_name"] = credentials["configuration_set_name"]
    return kwargs


kind = ProviderKind(
    slug="amazon_ses",
    backend_path="anymail.backends.amazon_ses.EmailBackend",
    credential_fields=(
        "access_key_id",
        "secret_access_key",
        "region",
        "configuration_set_name",
        "api_url",
    ),
    required=("access_key_id", "secret_access_key", "region"),
    to_kwargs=_to_kwargs,
    takes_timeout=False,
)
