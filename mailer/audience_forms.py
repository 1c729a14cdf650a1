"""Forms of the audience pages: parsing and messages only; saving goes through the services."""

from django import forms

from mailer.models import MailingList, Subscriber, Suppression
from mailer.services.audience import INVALID_EMAIL
from mailer.services.csv_reading import MAPPED_FIELDS

ATTRIBUTES_HELP = "One per line: name = value"
ENGAGEMENT_DAYS_MAX = 3650


def attributes_parse(text: str) -> dict:
    """`name = value` lines -> {"name": "value"}; raises ValidationError naming the bad line."""
    attributes = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise forms.ValidationError(f"Line {number}: write each attribute as name = value.")
        attributes[name.strip()] = value.strip()
    return attributes


def attributes_format(attributes: dict) -> str:
    return "\n".join(f"{name} = {value}" for name, value in (attributes or {}).items())


class AttributesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs):
        super().__init__(required=False, help_text=ATTRIBUTES_HELP, **kwargs)

    def prepare_value(self, value):
        return attributes_format(value) if isinstance(value, dict) else value

    def to_python(self, value) -> dict:
        return attributes_parse(super().to_python(value))


def _lists_field(label: str = "Lists") -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        MailingList.objects.all(), required=False, widget=forms.CheckboxSelectMultiple, label=label
    )


class SubscriberForm(forms.Form):
    email = forms.EmailField(max_length=320, error_messages={"invalid": INVALID_EMAIL})
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    status = forms.ChoiceField(choices=Subscriber.Status.choices)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    lists = _lists_field()
    attributes = AttributesField()

    @classmethod
    def initial_for(cls, subscriber: Subscriber) -> dict:
        return {
            **{name: getattr(subscriber, name) for name in cls.base_fields if name != "lists"},
            "lists": list(subscriber.lists.all()),
        }


class MailingListForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MemberForm(forms.Form):
    email = forms.EmailField(label="Subscriber's email", error_messages={"invalid": INVALID_EMAIL})

    def clean_email(self) -> Subscriber:
        subscriber = Subscriber.objects.filter(email__iexact=self.cleaned_data["email"]).first()
        if subscriber is None:
            raise forms.ValidationError("No subscriber has this email; add them first.")
        return subscriber


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    lists = _lists_field("In any of these lists")
    status = forms.MultipleChoiceField(
        choices=Subscriber.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="With status",
    )
    attributes = AttributesField(label="With attributes")
    opened_within_days = forms.IntegerField(
        min_value=1, max_value=ENGAGEMENT_DAYS_MAX, required=False, label="Opened within (days)"
    )
    clicked_within_days = forms.IntegerField(
        min_value=1, max_value=ENGAGEMENT_DAYS_MAX, required=False, label="Clicked within (days)"
    )

    def rules(self) -> dict:
        data = {**self.cleaned_data, "lists": [m.pk for m in self.cleaned_data["lists"]]}
        rules = {key: data[key] for key in self.fields if key != "name"}
        return {key: value for key, value in rules.items() if value not in (None, [], {})}

    @classmethod
    def initial_for(cls, segment) -> dict:
        return {"name": segment.name, **(segment.rules or {})}


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, UTF-16 or Latin-1; , ; or tab")
    mailing_list = forms.ModelChoiceField(
        MailingList.objects.all(), required=False, label="Add everyone to list"
    )


IMPORT_TARGETS = [
    ("attribute", "Attribute"),
    ("ignore", "Ignore"),
    ("email", "Email"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
]


class ImportMappingForm(forms.Form):
    """One choice per CSV column: which of our fields it fills (or an attribute, or nothing)."""

    def __init__(self, *args, columns: list[str], suggested: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        target_of = {suggested.get(f): f for f in MAPPED_FIELDS if suggested.get(f)}
        for index, column in enumerate(columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=IMPORT_TARGETS, label=column, initial=target_of.get(column, "attribute")
            )

    def clean(self) -> dict:
        data = super().clean()
        for field in MAPPED_FIELDS:
            chosen = [key for key, target in data.items() if target == field]
            if len(chosen) > 1:
                raise forms.ValidationError(f"Only one column can be {field.replace('_', ' ')}.")
        if "email" not in data.values():
            raise forms.ValidationError("Choose the column that holds the email address.")
        return data

    def mapping(self) -> dict:
        targets = [self.cleaned_data[f"column_{i}"] for i in range(len(self.columns))]
        mapping: dict = {field: None for field in MAPPED_FIELDS}
        mapping["ignore"] = []
        for column, target in zip(self.columns, targets, strict=True):
            if target in MAPPED_FIELDS:
                mapping[target] = column
            elif target == "ignore":
                mapping["ignore"].append(column)
        return mapping


class SuppressionForm(forms.Form):
    email = forms.EmailField(max_length=320, error_messages={"invalid": INVALID_EMAIL})
    reason = forms.ChoiceField(choices=Suppression.Reason.choices, initial="manual")
    note = forms.CharField(required=False, max_length=500)
