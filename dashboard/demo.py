"""The demo's dashboard: two charts over the last 30 days, read from the Stripe and SendGrid
stand-ins (setup_demo connects them first)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser

from consent.models import ALL_PROVIDERS, ConsentEvent, ConsentGrant
from consent.purposes import DASHBOARD
from consent.services import consent_set
from integrations.models import Connection

from .models import Widget
from .services import widget_create

# (provider, the widget's values): the parameters' relative dates are resolved at each load.
DEMO_WIDGETS = (
    ("stripe", {"title": "Stripe charges, last 30 days", "path": "/v1/charges",
                "params": [["created[gte]", "-30d"], ["limit", "100"]], "view": "line",
                "value_path": "amount", "time_field": "created"}),
    ("sendgrid", {"title": "SendGrid stats", "path": "/v3/stats",
                  "params": [["start_date", "-30d:date"], ["aggregated_by", "day"]],
                  "view": "line", "value_path": "stats.0.metrics.delivered",
                  "time_field": "date"}),
)


def demo_widgets_create(*, user: AbstractBaseUser, connections: Iterable[Connection]
                        ) -> list[Widget]:
    """Add each demo widget the person does not have yet (by title): running again adds none.

    The demo person allows *Your dashboard* for the services these widgets read, unless they
    have answered for that service or for every service themselves (the proxy reads nothing
    without it).
    """
    by_provider = {c.provider: c for c in connections}
    answered = set(ConsentGrant.objects.filter(user=user, purpose=DASHBOARD)
                   .values_list("provider", flat=True))
    # An answer the person gave, for every service or for this one, is theirs to keep.
    unanswered = set() if ALL_PROVIDERS in answered else by_provider.keys() - answered
    for slug in sorted(unanswered):
        consent_set(user=user, purpose=DASHBOARD, granted=True, provider=slug,
                    source=ConsentEvent.Source.COMMAND)
    titles = set(Widget.objects.filter(user=user).values_list("title", flat=True))
    return [widget_create(user=user, connection=by_provider[slug], **values)
            for slug, values in DEMO_WIDGETS
            if slug in by_provider and values["title"] not in titles]
