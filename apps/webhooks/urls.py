from django.urls import path

from apps.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhooks, name="webhook_list"),
    path("<int:webhook_id>/", views.webhook_detail, name="webhook_detail"),
    path("<int:webhook_id>/ping/", views.webhook_ping_view, name="webhook_ping"),
    path("<int:webhook_id>/activate/", views.webhook_activate, name="webhook_activate"),
    path("<int:webhook_id>/deactivate/", views.webhook_deactivate, name="webhook_deactivate"),
    path("<int:webhook_id>/delete/", views.webhook_delete_view, name="webhook_delete"),
]
