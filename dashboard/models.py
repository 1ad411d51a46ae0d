from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Widget(models.Model):
    """One tile of a person's dashboard: what to ask the external-API proxy for, and how to show
    the answer. Holds no secret: the credential stays on the connection."""

    class View(models.TextChoices):
        NUMBER = "number", _("Number")
        TABLE = "table", _("Table")
        LINE = "line", _("Line chart")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_widgets",
        verbose_name=_("user"),
    )
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="widgets",
        verbose_name=_("connection"),
    )
    title = models.CharField(_("title"), max_length=100)
    path = models.CharField(
        _("endpoint path"), max_length=200,
        help_text=_("A path the provider declares for the proxy, or any path of a custom API."),
    )
    params = models.JSONField(
        _("query parameters"), default=list, blank=True,
        help_text=_('A list of [name, value]; a value such as "-30d" is a relative date '
                    "(dashboard/relative_dates.py), resolved each time the widget loads."),
    )
    view = models.CharField(_("view"), max_length=10, choices=View.choices, default=View.NUMBER)
    value_path = models.CharField(
        _("value path"), max_length=200, blank=True,
        help_text=_("Dotted path to the number (number view) or to each record's y value "
                    "(line chart)."),
    )
    time_field = models.CharField(
        _("time field"), max_length=100, blank=True,
        help_text=_("Dotted path to each record's time (line chart)."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("widget")
        verbose_name_plural = _("widgets")
        ordering = ["position", "pk"]
        indexes = [
            # The dashboard page: one person's widgets in order.
            models.Index(fields=["user", "position"], name="dashboard_widget_user_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_view_display()}) for {self.user}"
