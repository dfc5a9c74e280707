"""Who may see and do what: every page needs a login, changing actions the operator permission.

One middleware guards every URL (a view cannot be forgotten): anonymous page requests go to the
login page, anonymous API requests get 401. Changing actions are POST-only views decorated with
`operator_required` (403 for a read-only user); Django's CSRF middleware refuses a POST without
its token.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseForbidden, JsonResponse

from deploy.console.models import OPERATE

OPEN_PATHS = ("/login/", "/static/", "/healthz", "/metrics")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated or request.path.startswith(OPEN_PATHS):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"error": "log in first (POST /login/)"}, status=401)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


def is_operator(user) -> bool:
    return user.is_authenticated and user.has_perm(OPERATE)


def operator_required(view):
    """403 unless the user has the operator permission; the view runs only for POST."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not is_operator(request.user):
            return HttpResponseForbidden(
                "This action needs the operator permission; ask an operator, or run "
                "`pipeline console user NAME --operator`."
            )
        if request.method != "POST":
            return HttpResponseForbidden("Changing actions are POST requests from a form.")
        return view(request, *args, **kwargs)

    return guarded
