"""Campaign pages, under /campaigns/."""

from django.urls import path

from mailer import views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_edit, name="campaign-create"),
    path("<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:pk>/test/", views.campaign_test_send, name="campaign-test"),
    path("<int:pk>/<str:verb>/", views.campaign_action, name="campaign-action"),
]
