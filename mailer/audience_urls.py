"""Audience pages, under /audience/."""

from django.urls import path

from mailer import audience_views as views

urlpatterns = [
    path("subscribers/", views.subscriber_list, name="subscriber-list"),
    path("subscribers/new/", views.subscriber_create, name="subscriber-create"),
    path("subscribers/<int:pk>/", views.subscriber_detail, name="subscriber-detail"),
    path("subscribers/<int:pk>/delete/", views.subscriber_delete, name="subscriber-delete"),
    path("lists/", views.list_index, name="list-index"),
    path("lists/<int:pk>/", views.list_detail, name="list-detail"),
    path(
        "lists/<int:pk>/members/<int:subscriber_pk>/remove/",
        views.list_member_remove,
        name="list-member-remove",
    ),
    path("segments/", views.segment_index, name="segment-index"),
    path("segments/new/", views.segment_edit, name="segment-create"),
    path("segments/<int:pk>/", views.segment_edit, name="segment-edit"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment-delete"),
    path("imports/new/", views.import_new, name="import-new"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("suppressions/", views.suppression_index, name="suppression-index"),
    path("suppressions/<int:pk>/delete/", views.suppression_delete, name="suppression-delete"),
]
