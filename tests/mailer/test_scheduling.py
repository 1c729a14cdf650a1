"""Scheduled campaigns start on time, once, however many beat processes run the check."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection

from mailer.models import Campaign
from mailer.send_tasks import start_due_campaigns
from mailer.services.campaigns import campaign_schedule
from mailer.services.sending import (
    SEND_STALL_AFTER_S,
    campaign_start_send,
    campaigns_resume_stalled,
    campaigns_start_due,
)
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign


def scheduled(at, members: int = 2) -> Campaign:
    people = [factories.subscriber() for _ in range(members)]
    target = campaign(lists=[factories.mailing_list(members=people)])
    return campaign_schedule(campaign=target, scheduled_at=at)


@pytest.mark.django_db
def test_due_campaign_is_started_and_a_future_one_waits(django_capture_on_commit_callbacks):
    due = scheduled(timezone.now() - timedelta(seconds=1))
    later = scheduled(timezone.now() + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = start_due_campaigns.apply().get()

    assert result["started"] == [due.pk]
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.total_recipients) == ("sending", 2)
    assert later.status == "scheduled"
    assert get_redis_connection("default").llen("celery") == 1


@pytest.mark.django_db
def test_due_campaign_that_cannot_be_sent_goes_back_to_draft():
    target = scheduled(timezone.now() + timedelta(seconds=1), members=1)
    target.lists.first().subscribers.update(is_active=False)
    assert campaigns_start_due(now=timezone.now() + timedelta(seconds=2)) == []
    target.refresh_from_db()
    assert target.status == "draft"


@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_start_a_due_campaign_once():
    targets = [scheduled(timezone.now() - timedelta(seconds=1), members=20) for _ in range(3)]
    barrier = threading.Barrier(4)
    started: list[int] = []

    def check() -> None:
        barrier.wait()
        try:
            started.extend(campaigns_start_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(started) == sorted(t.pk for t in targets)
    for target in targets:
        target.refresh_from_db()
        assert (target.status, target.total_recipients) == ("sending", 20)
        assert target.messages.count() == 20


@pytest.mark.django_db
def test_stalled_send_is_enqueued_again_once_per_stall_period(
    django_capture_on_commit_callbacks,
):
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    campaign_start_send(campaign=target)  # its chunk never reached a worker
    later = timezone.now() + timedelta(seconds=SEND_STALL_AFTER_S + 1)
    assert campaigns_resume_stalled() == []
    assert campaigns_resume_stalled(now=later) == [target.pk]
    assert campaigns_resume_stalled(now=later) == []
    assert get_redis_connection("default").llen("celery") == 1
