"""The staff page for fault knobs, the big red "revoke every token" button and the log reset."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .guards import sandbox_required
from .models import SandboxKnobs, SandboxRequest
from .services import grant_revoke_all, request_log_clear


class KnobsForm(forms.ModelForm):
    class Meta:
        model = SandboxKnobs
        fields = [
            "latency_ms", "error_rate", "rate_limit_rate", "retry_after_seconds",
            "token_lifetime_seconds", "rotate_refresh_tokens", "track_count", "artist_count",
            "rate_limit_requests", "rate_limit_window_seconds", "log_requests",
            "data_revision", "reject_cursors", "malformed_page", "truncated_page",
            "revoke_after_requests",
        ]


def staff_required(view):
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@sandbox_required
@staff_required
@require_http_methods(["GET", "POST"])
def knobs(request):
    form = KnobsForm(request.POST or None, instance=SandboxKnobs.get())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Sandbox knobs saved.")
        return redirect("sandbox:knobs")
    return render(request, "sandbox/knobs.html", {
        "form": form, "logged_requests": SandboxRequest.objects.count(),
    })


@sandbox_required
@staff_required
@require_POST
def revoke_all(request):
    count = grant_revoke_all()
    messages.success(request, f"Revoked {count} sandbox grant(s).")
    return redirect("sandbox:knobs")


@sandbox_required
@staff_required
@require_POST
def clear_request_log(request):
    count = request_log_clear()
    messages.success(request, f"Cleared {count} logged request(s).")
    return redirect("sandbox:knobs")
