"""Campaign content per recipient: merge tags and the plain-text part.

Merge tags use Django's template language on a sandboxed engine: no `load`, `include`, `url`,
`debug` or other tags that reach outside the template, and a context that is a plain dict of
the subscriber's own fields (never a model instance, request or settings), so
`{{ settings.SECRET_KEY }}` or `{{ subscriber.password }}` render empty. Values are escaped in
the HTML part and left as they are in the subject and the plain-text part.
"""

import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.template import (
    Context,
    Engine,
    Library,
    Template,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)

from mailer.models import Campaign, Subscriber

MERGE_TAGS = (
    "first_name",
    "last_name",
    "email",
    "attributes.<name>",
    "unsubscribe_url",
    "article_url",
)
# Tags that only shape the template itself; everything that loads, includes or inspects is out.
_SAFE_TAGS = (
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)


def _merge_tag_library() -> Library:
    library = Library()
    library.filters.update(defaultfilters.register.filters)
    library.tags.update({name: defaulttags.register.tags[name] for name in _SAFE_TAGS})
    return library


class _MergeTagEngine(Engine):
    """An engine with no loaders, no libraries to `load` and only the safe tags built in."""

    def get_template_builtins(self, builtins):
        return [_merge_tag_library()]


_ENGINE = _MergeTagEngine(loaders=[], libraries={}, string_if_invalid="")


def merge_tag_error(source: str) -> str | None:
    """Why `source` is not a valid template (a message for the person editing), or None."""
    try:
        _ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        return f"Merge tag error: {error}"
    return None


def merge_context(
    *, subscriber: Subscriber | None, unsubscribe_url: str, article_url: str = ""
) -> dict:
    """The whole context of a rendering: plain strings and the subscriber's JSON attributes."""
    attributes = json.loads(json.dumps(subscriber.attributes or {})) if subscriber else {}
    return {
        "first_name": subscriber.first_name if subscriber else "",
        "last_name": subscriber.last_name if subscriber else "",
        "email": subscriber.email if subscriber else "",
        "attributes": attributes if isinstance(attributes, dict) else {},
        "unsubscribe_url": unsubscribe_url,
        "article_url": article_url,
    }


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def _with_preheader(body: str, preview_text: str) -> str:
    """The preview text as a hidden first line, which mail clients show beside the subject."""
    if not preview_text:
        return body
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{html.escape(preview_text)}</div>"
    )
    match = re.search(r"<body[^>]*>", body, flags=re.IGNORECASE)
    if match:
        return body[: match.end()] + hidden + body[match.end() :]
    return hidden + body


class CampaignTemplates:
    """A campaign's subject and parts compiled once, rendered for each recipient."""

    def __init__(self, campaign: Campaign) -> None:
        self.article_url = campaign.article_url
        self.subject = _ENGINE.from_string(campaign.subject)
        self.html = _ENGINE.from_string(
            _with_preheader(campaign.html_content, campaign.preview_text)
        )
        source = campaign.plain_text_content
        self.text: Template | None = _ENGINE.from_string(source) if source.strip() else None

    def render(self, context: dict) -> RenderedEmail:
        context = {**context, "article_url": self.article_url}
        html_part = self.html.render(Context(context, autoescape=True))
        if self.text is not None:
            text_part = self.text.render(Context(context, autoescape=False))
        else:
            text_part = html_to_text(html_part)
        subject = self.subject.render(Context(context, autoescape=False))
        # A header cannot hold line breaks.
        return RenderedEmail(subject=" ".join(subject.split()), html=html_part, text=text_part)


_BLOCKS = {
    "address",
    "article",
    "blockquote",
    "div",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "ol",
    "p",
    "section",
    "table",
    "tr",
    "ul",
}
_SKIPPED = {"head", "script", "style", "title"}


class _TextExtractor(HTMLParser):
    """HTML to readable text: paragraphs and line breaks kept, links as "text (url)"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.preformatted = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "hr":
            self.parts.append("\n\n----\n\n")
        elif tag == "pre":
            self.preformatted += 1
            self.parts.append("\n\n")
        elif tag == "img" and attributes.get("alt"):
            self.parts.append(attributes["alt"])
        elif tag == "a":
            self.links.append((attributes.get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS or tag == "pre":
            self.preformatted = max(0, self.preformatted - (tag == "pre"))
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = " ".join("".join(self.parts[start:]).split())
            if href and not href.startswith("#") and href != text:
                self.parts.append(f" ({href})" if text else href)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.parts.append(data if self.preformatted else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def html_to_text(source: str) -> str:
    """A plain-text alternative for an HTML body (for the text/plain part)."""
    extractor = _TextExtractor()
    extractor.feed(source)
    extractor.close()
    return extractor.text()
