"""Settings pages of provider accounts, under /settings/providers/: the list with live state,
priority, rate and quota left; create and edit forms (staff only). Credential fields are
password inputs that are never prefilled: a blank one keeps the stored value."""

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mailer.models import ProviderAccount
from mailer.selectors.providers import provider_rows, quota_left_total, setup_notices
from mailer.services import providers as services

CREDENTIAL_PREFIX = "cred"


def staff_only(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff users may change provider accounts.")
        return view(request, *args, **kwargs)

    return wrapper


def _credential_name(kind: str, field: str) -> str:
    return f"{CREDENTIAL_PREFIX}__{kind}__{field}"


class ProviderForm(forms.Form):
    """The account's fields, then every kind's credential fields (static/js/providers.js
    shows only the chosen kind's); none is ever rendered with a value."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ProviderAccount.Kind.choices)
    priority = forms.IntegerField(
        min_value=0, max_value=32767, initial=100, help_text="Lower sends first."
    )
    rate_limit_per_s = forms.IntegerField(
        min_value=1, required=False, label="Rate limit per second", help_text="Blank: no limit."
    )
    daily_quota = forms.IntegerField(
        min_value=1, required=False, help_text="Messages per day; blank: no quota."
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, account: ProviderAccount | None = None, **kwargs):
        self.account = account
        if account is not None:
            kwargs.setdefault(
                "initial", {name: getattr(account, name) for name in services.ACCOUNT_FIELDS}
            )
        super().__init__(*args, **kwargs)
        self.credential_groups = []
        for kind, label in ProviderAccount.Kind.choices:
            names = []
            for field in services.kind_credential_fields(kind):
                name = _credential_name(kind, field.name)
                stored = account is not None and account.kind == kind
                hint = "Leave blank to keep the stored value." if stored else ""
                if not field.required:
                    hint = f"Optional. {hint}".strip()
                self.fields[name] = forms.CharField(
                    label=field.name,
                    required=False,
                    strip=False,
                    help_text=hint,
                    widget=forms.PasswordInput(
                        render_value=False, attrs={"autocomplete": "new-password"}
                    ),
                )
                names.append(name)
            self.credential_groups.append({"kind": kind, "label": label, "names": names})

    def credential_groups_bound(self):
        return [
            {**group, "fields": [self[name] for name in group["names"]]}
            for group in self.credential_groups
        ]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        given = {
            field.name: self.cleaned_data.get(_credential_name(kind, field.name), "")
            for field in services.kind_credential_fields(kind)
        }
        if self.account is not None:
            credentials = services.provider_credentials_merge(self.account, kind, given)
        else:
            credentials = {name: value for name, value in given.items() if value}
        for error in services.credentials_errors(kind, credentials):
            self.add_error(None, error)
        data["credentials"] = credentials
        return data

    def account_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in services.ACCOUNT_FIELDS}


@login_required
def provider_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "mailer/providers/index.html",
        {
            "rows": provider_rows(),
            "quota_left": quota_left_total(),
            "notices": setup_notices(),
        },
    )


@staff_only
def provider_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk) if pk else None
    form = ProviderForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            if account is None:
                saved = services.provider_create(
                    credentials=form.cleaned_data["credentials"], **form.account_values()
                )
            else:
                saved = services.provider_update(
                    account=account,
                    credentials=form.cleaned_data["credentials"],
                    **form.account_values(),
                )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                form.add_error(None, error)
        else:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("provider-index")
    return render(
        request,
        "mailer/providers/form.html",
        {"form": form, "account": account},
        status=400 if form.errors else 200,
    )


@require_POST
@staff_only
def provider_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    services.provider_delete(account=account)
    messages.success(request, f"Deleted “{account.name}”.")
    return redirect("provider-index")


@require_POST
@staff_only
def provider_clear(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    services.provider_clear(account=account)
    messages.success(request, f"“{account.name}” will be tried again.")
    return redirect("provider-index")
