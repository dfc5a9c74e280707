from __future__ import annotations

from pathlib import Path

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import path
from django.views.static import serve

from deploy.console.metrics import metrics_view
from deploy.console.views import audit, deadletters, groups, lineage, overview, topics

STATIC_DIR = Path(__file__).parent / "static"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("overview/live", overview.overview_live, name="overview-live"),
    path("api/overview", overview.api_overview, name="api-overview"),
    path("topics/", topics.topics, name="topics"),
    path("topics/<str:name>/", topics.topic, name="topic"),
    path("topics/<str:name>/export", topics.topic_export, name="topic-export"),
    path("groups/", groups.groups, name="groups"),
    path("groups/<str:name>/", groups.group, name="group"),
    path("groups/<str:name>/reset", groups.reset_plan, name="reset"),
    path("groups/<str:name>/reset/execute", groups.reset_execute, name="reset-execute"),
    path("deadletters/", deadletters.dead_letters, name="deadletters"),
    path("deadletters/<str:group>/", deadletters.group_letters, name="deadletter-group"),
    path("deadletters/<str:group>/redrive", deadletters.redrive_confirm,
         name="redrive-confirm"),
    path("deadletters/<str:group>/redrive/execute", deadletters.redrive, name="redrive"),
    path("lineage/", lineage.lineage, name="lineage"),
    path("audit/", audit.audit_log, name="audit"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain"),
         name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("static/<path:path>", serve, {"document_root": STATIC_DIR}, name="static"),
]
