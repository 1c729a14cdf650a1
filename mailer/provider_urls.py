"""Provider settings pages, under /settings/providers/."""

from django.urls import path

from mailer import provider_views as views

urlpatterns = [
    path("", views.provider_index, name="provider-index"),
    path("new/", views.provider_edit, name="provider-create"),
    path("<int:pk>/", views.provider_edit, name="provider-edit"),
    path("<int:pk>/delete/", views.provider_delete, name="provider-delete"),
    path("<int:pk>/clear/", views.provider_clear, name="provider-clear"),
]
