"""The add/edit widget form. It only parses what was typed: services.py checks it against the
connection's proxy spec, and the view looks the connection up scoped to the person."""

from __future__ import annotations

from django import forms

from integrations.models import Connection

from .models import Widget
from .selectors import proxy_spec_for

PARAMS_HELP = ("One per line, name=value. A relative date is resolved each time the widget "
               "loads: -30d is 30 days ago in epoch seconds, -30d:date the same day as "
               "YYYY-MM-DD, -12h:iso an ISO time (units m, h, d, w).")
BAD_PARAM_LINE = "Line {n} is not name=value."
CUSTOM = "__custom__"


def source_value(connection: Connection, path: str) -> str:
    return f"{connection.pk} {path}"  # a path holds no space


def source_choices(connections: list[Connection]) -> list:
    """One group per connection: its declared endpoints, and "a path of my own" where any path
    may be proxied. Choosing both at once, a person cannot pair one service's connection with
    another's endpoint."""
    groups = []
    for connection in connections:
        spec = proxy_spec_for(connection)
        options = [(source_value(connection, e.path), f"{e.label} ({e.path})")
                   for e in spec.endpoints]
        if spec.any_path:
            options.append((source_value(connection, CUSTOM), "A path of my own (below)"))
        groups.append((f"{connection.provider_name}: {connection.account_label}", options))
    return groups


class WidgetForm(forms.Form):
    title = forms.CharField(max_length=100)
    # "<connection id> <path>". Any id parses here: the view looks it up among the person's
    # own connections (404 otherwise), the service checks the path.
    source = forms.RegexField(label="Data", regex=r"[0-9]{1,18} \S{1,200}", widget=forms.Select)
    custom_path = forms.CharField(
        label="Custom path", max_length=200, required=False,
        help_text="Instead of the choice above: a custom API's path under its base URL "
                  "(/status), or a declared path with its {placeholders} filled in.")
    params = forms.CharField(label="Parameters", required=False, help_text=PARAMS_HELP,
                             widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}))
    view = forms.ChoiceField(choices=Widget.View.choices, initial=Widget.View.NUMBER,
                             widget=forms.RadioSelect)
    value_path = forms.CharField(
        label="Value path", max_length=200, required=False,
        help_text="Number: the dotted path of the number (empty: count the records). Line "
                  "chart: each record's number to sum per day, such as amount.")
    time_field = forms.CharField(
        label="Time field", max_length=100, required=False,
        help_text="Line chart: each record's time (epoch seconds or ISO date). Empty: the "
                  "one the service declares.")

    def __init__(self, *args, connections: list[Connection], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].widget.choices = source_choices(connections)
        for name in ("value_path", "time_field", "custom_path"):
            self.fields[name].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_params(self) -> list[list[str]]:
        pairs = []
        for n, line in enumerate(self.cleaned_data["params"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(BAD_PARAM_LINE.format(n=n))
            pairs.append([name.strip(), value.strip()])
        return pairs

    def connection_pk(self) -> int:
        return int(self.cleaned_data["source"].split(" ", 1)[0])

    def widget_path(self) -> str:
        chosen = self.cleaned_data["source"].split(" ", 1)[1]
        custom = self.cleaned_data["custom_path"].strip()
        return custom if custom or chosen == CUSTOM else chosen

    @staticmethod
    def initial_for(widget: Widget) -> dict:
        spec = proxy_spec_for(widget.connection)
        declared = spec is not None and any(e.path == widget.path for e in spec.endpoints)
        return {"title": widget.title, "view": widget.view,
                "source": source_value(widget.connection, widget.path if declared else CUSTOM),
                "custom_path": "" if declared else widget.path,
                "params": "\n".join(f"{n}={v}" for n, v in widget.params),
                "value_path": widget.value_path, "time_field": widget.time_field}
