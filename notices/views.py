"""The notices page. Each view reads through selectors or calls one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .forms import NotificationSettingsForm
from .selectors import email_on_health, notices_for_user
from .services import notices_mark_all_read, notification_settings_update

# Messages people see; tests import them.
MARKED_READ = "All notices marked read."
SETTINGS_SAVED = "Saved: {what}."
EMAIL_ON = "you get an e-mail when a connection fails"
EMAIL_OFF = "no e-mails; notices still appear here"
SHOWN = 200  # the newest; older ones are in the API


@login_required
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    form = NotificationSettingsForm(
        initial={"email_on_health": email_on_health(user_id=request.user.pk)})
    return render(request, "notices/notices.html", {
        "notices": notices_for_user(user=request.user)[:SHOWN],
        "form": form,
    })


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notices_mark_all_read(user=request.user)
    messages.success(request, MARKED_READ)
    return redirect("notices:notices")


@login_required
@require_POST
def notification_settings(request: HttpRequest) -> HttpResponse:
    form = NotificationSettingsForm(request.POST)
    form.is_valid()  # one checkbox: every submission is valid
    wanted = form.cleaned_data["email_on_health"]
    notification_settings_update(user=request.user, email_on_health=wanted)
    messages.success(request, SETTINGS_SAVED.format(what=EMAIL_ON if wanted else EMAIL_OFF))
    return redirect("notices:notices")
