"""Audience pages: subscribers, lists, segments and the suppression list. Everyone signed in
reads; only staff change anything (others get 403 on POST)."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mailer.audience_forms import (
    ImportMappingForm,
    ImportUploadForm,
    MailingListForm,
    MemberForm,
    SegmentForm,
    SubscriberForm,
    SuppressionForm,
)
from mailer.models import MailingList, Segment, Subscriber, SubscriberImport, Suppression
from mailer.selectors import audience as selectors
from mailer.selectors.imports import import_columns, import_list
from mailer.services import audience as services
from mailer.services.csv_reading import mapping_guess
from mailer.services.imports import ImportTooLarge, import_create, import_start

PAGE_SIZE = 50


def staff_to_change(view: Callable) -> Callable:
    """Signed-in users may GET; only staff may POST."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD") and not request.user.is_staff:
            raise PermissionDenied("Only staff users may change the audience.")
        return view(request, *args, **kwargs)

    return wrapper


def staff_only(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff users may change the audience.")
        return view(request, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest, queryset: QuerySet) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _save(form, save: Callable[[], object]) -> object | None:
    """Run the service and return what it made; its ValidationError becomes the form's field
    errors (and None is returned)."""
    try:
        return save()
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            form.add_error(None, error)
        for field, errors in getattr(error, "error_dict", {}).items():
            form.add_error(field if field in form.fields else None, errors)
        return None


# --- subscribers


@login_required
def subscriber_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in Subscriber.Status.values:
        status = ""
    page = _page(request, selectors.subscriber_list(search=search, status=status))
    context = {"page": page, "q": search, "status": status, "statuses": Subscriber.Status.choices}
    return render(request, "mailer/audience/subscriber_list.html", context)


@staff_only
def subscriber_create(request: HttpRequest) -> HttpResponse:
    form = SubscriberForm(request.POST or None)
    if form.is_valid() and (
        subscriber := _save(form, lambda: services.subscriber_create(**form.cleaned_data))
    ):
        messages.success(request, f"Added {subscriber.email}.")
        return redirect("subscriber-detail", pk=subscriber.pk)
    return render(request, "mailer/audience/subscriber_form.html", {"form": form})


@staff_to_change
def subscriber_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscriber = get_object_or_404(Subscriber, pk=pk)
    form = SubscriberForm(request.POST or None, initial=SubscriberForm.initial_for(subscriber))
    if form.is_valid() and _save(
        form, lambda: services.subscriber_update(subscriber=subscriber, **form.cleaned_data)
    ):
        messages.success(request, "Saved.")
        return redirect("subscriber-detail", pk=subscriber.pk)
    context = {"subscriber": subscriber, "form": form}
    return render(request, "mailer/audience/subscriber_form.html", context)


@require_POST
@staff_only
def subscriber_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscriber = get_object_or_404(Subscriber, pk=pk)
    services.subscriber_delete(subscriber=subscriber)
    messages.success(request, f"Deleted {subscriber.email}.")
    return redirect("subscriber-list")


# --- lists


@staff_to_change
def list_index(request: HttpRequest) -> HttpResponse:
    form = MailingListForm(request.POST or None)
    if form.is_valid() and _save(form, lambda: services.mailing_list_save(**form.cleaned_data)):
        messages.success(request, f"Created the list {form.cleaned_data['name']}.")
        return redirect("list-index")
    context = {"lists": selectors.mailing_list_list(), "form": form}
    return render(request, "mailer/audience/list_index.html", context)


@staff_to_change
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mailing_list = get_object_or_404(MailingList, pk=pk)
    form = MemberForm(request.POST or None)
    if form.is_valid():
        subscriber = form.cleaned_data["email"]
        services.list_members_add(mailing_list=mailing_list, subscriber_ids=[subscriber.pk])
        messages.success(request, f"Added {subscriber.email} to the list.")
        return redirect("list-detail", pk=pk)
    page = _page(request, selectors.subscriber_list(list_id=mailing_list.pk))
    context = {"mailing_list": mailing_list, "page": page, "form": form}
    return render(request, "mailer/audience/list_detail.html", context)


@require_POST
@staff_only
def list_member_remove(request: HttpRequest, pk: int, subscriber_pk: int) -> HttpResponse:
    mailing_list = get_object_or_404(MailingList, pk=pk)
    services.list_members_remove(mailing_list=mailing_list, subscriber_ids=[subscriber_pk])
    messages.success(request, "Removed from the list.")
    return redirect("list-detail", pk=pk)


# --- segments


@login_required
def segment_index(request: HttpRequest) -> HttpResponse:
    segments = [(s, selectors.segment_count(s.rules)) for s in Segment.objects.all()]
    return render(request, "mailer/audience/segment_index.html", {"segments": segments})


@staff_to_change
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    if segment is None and not request.user.is_staff:
        raise PermissionDenied("Only staff users may create segments.")
    initial = SegmentForm.initial_for(segment) if segment else {}
    form = SegmentForm(request.POST or None, initial=initial)
    if form.is_valid() and (
        saved := _save(
            form,
            lambda: services.segment_save(
                segment=segment, name=form.cleaned_data["name"], rules=form.rules()
            ),
        )
    ):
        messages.success(request, "Segment saved.")
        return redirect("segment-edit", pk=saved.pk)
    count = selectors.segment_count(segment.rules) if segment else None
    context = {"segment": segment, "form": form, "count": count}
    return render(request, "mailer/audience/segment_form.html", context)


@require_POST
@staff_only
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.segment_delete(segment=get_object_or_404(Segment, pk=pk))
    messages.success(request, "Segment deleted.")
    return redirect("segment-index")


# --- suppressions


@staff_to_change
def suppression_index(request: HttpRequest) -> HttpResponse:
    form = SuppressionForm(request.POST or None)
    if form.is_valid() and _save(form, lambda: services.suppression_add(**form.cleaned_data)):
        messages.success(request, f"{form.cleaned_data['email']} will not be mailed.")
        return redirect("suppression-index")
    search = request.GET.get("q", "").strip()
    page = _page(request, selectors.suppression_list(search=search))
    context = {"page": page, "q": search, "form": form}
    return render(request, "mailer/audience/suppression_index.html", context)


@require_POST
@staff_only
def suppression_delete(request: HttpRequest, pk: int) -> HttpResponse:
    suppression = get_object_or_404(Suppression, pk=pk)
    services.suppression_remove(suppression=suppression)
    messages.success(request, f"{suppression.email} may be mailed again.")
    return redirect("suppression-index")


# --- imports: upload, then mapping, then progress and result (static/js/audience-import.js)

RECENT_IMPORTS = 20


@staff_only
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            subscriber_import = _save(
                form,
                lambda: import_create(
                    name=upload.name,
                    content=upload.read(),
                    mailing_list=form.cleaned_data["mailing_list"],
                    created_by=request.user,
                ),
            )
        except ImportTooLarge as error:
            form.add_error("file", str(error))
            subscriber_import = None
        if subscriber_import:
            return redirect("import-detail", pk=subscriber_import.pk)
    context = {"form": form, "imports": import_list()[:RECENT_IMPORTS]}
    return render(request, "mailer/audience/import_new.html", context)


@staff_to_change
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscriber_import = get_object_or_404(import_list(), pk=pk)
    awaiting = (
        not subscriber_import.mapping
        and subscriber_import.status == SubscriberImport.Status.PENDING
    )
    form = None
    if awaiting:
        columns = import_columns(subscriber_import=subscriber_import)
        form = ImportMappingForm(
            request.POST or None, columns=columns, suggested=mapping_guess(columns)
        )
        if form.is_valid() and _save(
            form,
            lambda: import_start(subscriber_import=subscriber_import, mapping=form.mapping()),
        ):
            return redirect("import-detail", pk=pk)
    context = {"subscriber_import": subscriber_import, "form": form, "awaiting": awaiting}
    return render(request, "mailer/audience/import_detail.html", context)
