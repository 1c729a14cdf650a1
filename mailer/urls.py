from django.urls import path

from mailer import views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("<int:pk>/", views.campaign_detail, name="campaign-detail"),
]
