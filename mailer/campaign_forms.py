"""Forms of the campaign pages: the editor, scheduling and the test send."""

from django import forms

from mailer.models import Campaign, MailingList, Segment, Subscriber
from mailer.services.campaigns import campaign_content_errors

EDITOR_FIELDS = (
    "name",
    "subject",
    "preview_text",
    "from_name",
    "from_email",
    "reply_to",
    "lists",
    "segments",
    "html_content",
    "plain_text_content",
    "article_url",
    "published_date",
    "is_active",
)


class CampaignForm(forms.ModelForm):
    lists = forms.ModelMultipleChoiceField(
        MailingList.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    segments = forms.ModelMultipleChoiceField(
        Segment.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    article_url = forms.URLField(max_length=2000, required=False, assume_scheme="https")

    class Meta:
        model = Campaign
        fields = EDITOR_FIELDS
        widgets = {
            "html_content": forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
            "plain_text_content": forms.Textarea(attrs={"rows": 6}),
            "published_date": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }
        help_texts = {
            "subject": "Merge tags work here too, e.g. {{ first_name }}.",
            "plain_text_content": "Leave empty to generate it from the HTML.",
            "from_email": "Leave empty to use the site's default sender.",
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        for field, message in campaign_content_errors(cleaned).items():
            self.add_error(field, message)
        return cleaned


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label="Send at (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class TestSendForm(forms.Form):
    email = forms.EmailField(label="Send a test to", max_length=320)
    subscriber = forms.ModelChoiceField(
        Subscriber.objects.all(),
        required=False,
        label="Personalised as",
        empty_label="(blank fields)",
        widget=forms.NumberInput,
    )
