"""Provider settings pages (/settings/providers/), the admin's write-only credentials, the
dashboard's provider panel and the setup notices (no provider, no From address)."""

import pytest
from django.test import Client

from mailer.models import ProviderAccount
from mailer.providers import state
from mailer.providers.base import Failure, Verdict
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign

pytestmark = pytest.mark.django_db

SECRET = "pm-Token-Okapi-9921"


@pytest.fixture
def staff(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def account(name="Postmark", kind="postmark", credentials=None, **fields) -> ProviderAccount:
    created = ProviderAccount(name=name, kind=kind, **fields)
    created.credentials = credentials or {"server_token": SECRET}
    created.save()
    return created


def form_data(**fields) -> dict:
    return {"name": "Postmark", "kind": "postmark", "priority": "10", "enabled": "on", **fields}


def test_no_provider_and_no_from_address_are_told_plainly(viewer, settings):
    settings.DEFAULT_FROM_EMAIL = ""
    campaign(from_email="")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    page = viewer.get("/settings/providers/").content.decode()
    assert "No provider configured: mail goes through EMAIL_URL (smtp)." in page
    assert "No From address configured: DEFAULT_FROM_EMAIL is not set" in page
    assert "1 unsent campaign has no from_email" in page
    assert "No provider configured" in viewer.get("/").content.decode()


def test_no_notice_once_configured(viewer):
    account()
    page = viewer.get("/settings/providers/").content.decode()
    assert "No provider configured" not in page and "No From address" not in page


def test_list_shows_state_priority_rate_and_quota_left(viewer):
    account(priority=5, rate_limit_per_s=30, daily_quota=800)
    broken = account(name="Broken", kind="mailgun", credentials={"api_key": "x"})
    state.record_failure(broken, Failure(Verdict.MISCONFIGURED, "HTTP 401"), probe=False)
    page = viewer.get("/settings/providers/").content.decode()
    assert "Postmark" in page and ">30<" in page and ">800<" in page
    assert "provider-state healthy" in page and "provider-state misconfigured" in page
    assert "HTTP 401" in page
    assert "New provider" not in page, "viewers do not get the staff buttons"


def test_viewer_cannot_create_or_change(viewer):
    existing = account()
    assert viewer.get("/settings/providers/new/").status_code == 403
    assert viewer.post("/settings/providers/new/", form_data(name="x")).status_code == 403
    assert viewer.post(f"/settings/providers/{existing.pk}/delete/").status_code == 403
    assert ProviderAccount.objects.count() == 1


def test_staff_creates_through_the_form(staff):
    response = staff.post(
        "/settings/providers/new/",
        form_data(**{"cred__postmark__server_token": SECRET, "daily_quota": "100"}),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = ProviderAccount.objects.get()
    assert (created.kind, created.daily_quota, created.enabled) == ("postmark", 100, True)
    assert created.credentials == {"server_token": SECRET}


def test_missing_required_credential_is_an_error(staff):
    response = staff.post("/settings/providers/new/", form_data())
    assert response.status_code == 400
    assert "Missing credential field: server_token" in response.content.decode()
    assert not ProviderAccount.objects.exists()


def test_edit_form_never_prefills_and_blank_keeps(staff):
    existing = account(credentials={"server_token": SECRET, "message_stream": "outbound"})
    page = staff.get(f"/settings/providers/{existing.pk}/").content.decode()
    assert SECRET not in page and "outbound" not in page
    assert "Leave blank to keep the stored value." in page
    assert 'type="password"' in page

    response = staff.post(f"/settings/providers/{existing.pk}/", form_data(priority="3"))
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.priority == 3
    assert existing.credentials == {"server_token": SECRET, "message_stream": "outbound"}

    response = staff.post(
        f"/settings/providers/{existing.pk}/",
        form_data(**{"cred__postmark__server_token": "new-token"}),
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.credentials == {"server_token": "new-token", "message_stream": "outbound"}


def test_changing_kind_on_the_form_needs_the_new_kinds_credentials(staff):
    existing = account()
    response = staff.post(f"/settings/providers/{existing.pk}/", form_data(kind="mailgun"))
    assert response.status_code == 400
    assert "Missing credential field: api_key" in response.content.decode()
    response = staff.post(
        f"/settings/providers/{existing.pk}/",
        form_data(kind="mailgun", **{"cred__mailgun__api_key": "mg-key"}),
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    assert (existing.kind, existing.credentials) == ("mailgun", {"api_key": "mg-key"})


def test_delete_and_clear(staff):
    broken = account()
    state.record_failure(broken, Failure(Verdict.MISCONFIGURED, "HTTP 401"), probe=False)
    assert "Try again" in staff.get("/settings/providers/").content.decode()
    assert staff.post(f"/settings/providers/{broken.pk}/clear/").status_code == 302
    assert state.provider_states([broken])[broken.pk]["status"] == "healthy"
    assert staff.post(f"/settings/providers/{broken.pk}/delete/").status_code == 302
    assert not ProviderAccount.objects.exists()


def test_admin_credentials_are_write_only(admin_client):
    response = admin_client.post(
        "/admin/mailer/provideraccount/add/",
        {
            "name": "SES",
            "kind": "postmark",
            "priority": "1",
            "enabled": "on",
            "credentials_json": f'{{"server_token": "{SECRET}"}}',
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = ProviderAccount.objects.get()
    assert created.credentials == {"server_token": SECRET}
    page = admin_client.get(f"/admin/mailer/provideraccount/{created.pk}/change/").content.decode()
    assert SECRET not in page and created.encrypted_credentials not in page

    # Blank keeps; a bad field is refused without echoing the value.
    response = admin_client.post(
        f"/admin/mailer/provideraccount/{created.pk}/change/",
        {"name": "SES", "kind": "postmark", "priority": "2", "credentials_json": ""},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.priority, created.credentials) == (2, {"server_token": SECRET})
    response = admin_client.post(
        f"/admin/mailer/provideraccount/{created.pk}/change/",
        {"name": "SES", "kind": "postmark", "priority": "2", "credentials_json": '{"x": "y"}'},
    )
    assert response.status_code == 200
    assert "Unknown credential field" in response.content.decode()


def test_dashboard_panel_lists_providers_and_alerts(viewer):
    account(name="Healthy one")
    broken = account(name="Broken one", kind="mailgun", credentials={"api_key": "x"})
    state.record_failure(broken, Failure(Verdict.MISCONFIGURED, "HTTP 401"), probe=False)
    page = viewer.get("/").content.decode()
    assert 'id="provider-panel"' in page
    assert f'data-provider-id="{broken.pk}"' in page
    assert "<strong>Broken one</strong> is misconfigured (HTTP 401)." in page
    assert "js/dashboard.js" in page


def test_campaign_page_asks_for_the_cost(staff):
    target = campaign()
    page = staff.get(f"/campaigns/{target.pk}/").content.decode()
    assert f'data-cost-url="/api/campaigns/{target.pk}/cost/"' in page
    assert 'id="send-cost"' in page


def test_sending_beyond_the_quota_from_the_page_needs_the_box_ticked(client, staff_user):
    from mailer.models import Campaign
    from tests.mailer.fake_esp import provider_account

    provider_account("sandbox", {"mode": "up"}, daily_quota=0)
    subscriber_list = factories.mailing_list(members=[factories.subscriber()])
    target = Campaign.objects.create(
        name="Big", subject="Hi", html_content="<p>Hi</p>", from_email="news@example.com"
    )
    target.lists.add(subscriber_list)
    client.force_login(staff_user)

    page = client.get(f"/campaigns/{target.pk}/").content.decode()
    refused = client.post(f"/campaigns/{target.pk}/send/", follow=True)

    assert 'name="over_quota"' in page
    assert "left today" in refused.content.decode()
    assert Campaign.objects.get(pk=target.pk).status == "draft"
    client.post(f"/campaigns/{target.pk}/send/", {"over_quota": "confirmed"})
    assert Campaign.objects.get(pk=target.pk).status == "sending"
