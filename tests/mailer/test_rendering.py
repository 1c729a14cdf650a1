"""Merge tags reach only the subscriber's own fields, escape HTML, and a text part is made."""

import pytest

from mailer.models import Campaign, Subscriber
from mailer.rendering import CampaignTemplates, html_to_text, merge_context, merge_tag_error


def render(subscriber: Subscriber, **content):
    campaign = Campaign(name="c", **{"subject": "Hi", "html_content": "", **content})
    context = merge_context(subscriber=subscriber, unsubscribe_url="https://x.test/u/tok")
    return CampaignTemplates(campaign).render(context)


def person(**fields) -> Subscriber:
    return Subscriber(**{"email": "ada@example.com", "first_name": "Ada", **fields})


def test_first_name_with_markup_is_escaped_in_html_and_kept_in_text():
    rendered = render(
        person(first_name="<script>alert(1)</script>"),
        subject="For {{ first_name }}",
        html_content="<p>Hello {{ first_name }}</p>",
        plain_text_content="Hello {{ first_name }}",
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert rendered.text == "Hello <script>alert(1)</script>"
    assert rendered.subject == "For <script>alert(1)</script>"


@pytest.mark.parametrize(
    "tag",
    [
        "{{ settings.SECRET_KEY }}",
        "{{ subscriber.password }}",
        "{{ request.user }}",
    ],
)
def test_merge_tags_reach_nothing_beyond_the_subscriber(tag, settings):
    rendered = render(person(), html_content=f"<p>[{tag}]</p>")
    assert "<p>[]</p>" in rendered.html
    assert settings.SECRET_KEY not in rendered.html


@pytest.mark.parametrize(
    "source",
    [
        '{% load static %}{% static "x" %}',
        '{% include "base.html" %}',
        "{% debug %}",
        "{% url 'x' %}",
        "{{ email.__class__ }}",
        "{{ attributes.__class__.__mro__ }}",
    ],
)
def test_tags_that_reach_outside_the_template_are_refused(source):
    assert merge_tag_error(source).startswith("Merge tag error:")


def test_syntax_error_is_explained():
    assert "Unclosed tag" in merge_tag_error("{% if first_name %}Hello {{ first_name }}")
    assert "Invalid filter" in merge_tag_error("Hello {{ first_name|shout }}")
    assert merge_tag_error("Hello {{ first_name|default:'friend' }}") is None


def test_attributes_and_unsubscribe_url_are_merged():
    rendered = render(
        person(attributes={"plan": "pro", "seats": 3}),
        html_content=(
            "<p>{{ attributes.plan }} x{{ attributes.seats }}</p>"
            '<a href="{{ unsubscribe_url }}">u</a>'
        ),
    )
    assert "<p>pro x3</p>" in rendered.html
    assert 'href="https://x.test/u/tok"' in rendered.html


def test_plain_text_is_generated_from_html_when_missing():
    rendered = render(
        person(),
        html_content=(
            "<html><head><style>p{color:red}</style><title>T</title></head><body>"
            "<h1>Hello {{ first_name }}</h1><p>Read <a href='https://e.com/a'>the news</a>"
            " today.<br>Second line</p><ul><li>one</li><li>two</li></ul>"
            "<p>Fish &amp; chips</p></body></html>"
        ),
    )
    assert rendered.text == (
        "Hello Ada\n\nRead the news (https://e.com/a) today.\nSecond line\n\n- one\n- two\n\n"
        "Fish & chips\n"
    )


def test_link_whose_text_is_its_url_is_written_once():
    assert html_to_text('<p><a href="https://e.com">https://e.com</a></p>') == "https://e.com\n"


def test_preview_text_is_a_hidden_first_line():
    rendered = render(person(), html_content="<body><p>x</p></body>", preview_text="Big news")
    assert rendered.html.startswith('<body><div style="display:none')
    assert "Big news" in rendered.html
