"""State changes of dashboard widgets. Views and commands call these only.

A widget is checked against its connection's proxy spec when it is saved: only a declared
endpoint (or any safe path of an ``any_path`` provider), only declared parameters, each value
(relative dates resolved) valid for its declared field. The proxy checks again on every load.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from integrations import clock
from integrations.exceptions import ConnectionTestFailed
from integrations.forms import form_field
from integrations.models import Connection
from integrations.providers.custom_api.fields import safe_test_path
from integrations.proxy.spec import ProxyEndpoint, ProxySpec

from . import relative_dates
from .models import Widget
from .render import PATH
from .selectors import endpoint_for, proxy_spec_for

MAX_WIDGETS = 24  # each one polls: a bound on what one page asks of the proxy
MAX_PARAMS = 20
MAX_PARAM_VALUE = 200
PARAM_NAME = re.compile(r"[A-Za-z0-9_.\[\]-]{1,60}")
PARAM_VALUE = re.compile(r"[^\x00-\x1f\x7f]*")

# Messages people see; tests import them.
NOT_YOURS = "Choose one of your connections."
NO_PROXY = "{name} offers no data for a dashboard."
NOT_DECLARED = "{name} offers no such data. Choose one of: {paths}."
BAD_PATH = "Give a path under the API's base URL, such as /status (no address, query or ..)."
TOO_MANY_WIDGETS = f"A dashboard holds at most {MAX_WIDGETS} widgets: remove one first."
TOO_MANY_PARAMS = f"At most {MAX_PARAMS} parameters."
UNKNOWN_PARAM = "{label} takes no parameter {name}. It takes: {known}."
REPEATED_PARAM = "The parameter {name} is given twice."
MISSING_PARAM = "{label} needs the parameter {name}."
BAD_PARAM = "{name}: {error}"
BAD_PARAM_NAME = "A parameter name is letters, digits and _ . - [ ] (at most 60)."
BAD_PARAM_VALUE = f"A parameter value is one line of at most {MAX_PARAM_VALUE} characters."
BAD_VALUE_PATH = "A dotted path of keys, such as data.0.amount."
NEEDS_VALUE_PATH = "A line chart needs the path of the number to draw, such as amount."
NEEDS_TIME_FIELD = "A line chart needs the time field of each record, such as created."
NEEDS_TITLE = "Give the widget a title."


def _spec(connection: Connection) -> ProxySpec:
    spec = proxy_spec_for(connection)
    if spec is None:
        raise ValidationError({"connection": NO_PROXY.format(name=connection.provider_name)})
    return spec


def _checked_path(connection: Connection, spec: ProxySpec, path: str
                  ) -> tuple[str, ProxyEndpoint | None]:
    """The path to store, and its declared endpoint (None for an ``any_path`` provider's own)."""
    path = (path or "").strip()
    endpoint = endpoint_for(spec, path) if path else None
    if endpoint is not None:  # stored the way the provider declares it
        return ("/" if endpoint.path.startswith("/") else "") + path.strip("/"), endpoint
    if spec.any_path:
        if not path:  # safe_test_path would take it as "/": a widget names what it reads
            raise ValidationError({"path": BAD_PATH})
        try:
            return "/" + safe_test_path(path).lstrip("/"), None
        except ConnectionTestFailed:
            raise ValidationError({"path": BAD_PATH}) from None
    paths = ", ".join(e.path for e in spec.endpoints)
    raise ValidationError({"path": NOT_DECLARED.format(name=connection.provider_name,
                                                       paths=paths)})


def _checked_params(params: Sequence[Sequence[str]], endpoint: ProxyEndpoint | None
                    ) -> list[list[str]]:
    """``params`` as stored ([name, value] pairs), each checked; a relative date is checked as
    the value it resolves to now."""
    if len(params) > MAX_PARAMS:
        raise ValidationError({"params": TOO_MANY_PARAMS})
    errors, seen, kept = [], set(), []
    declared = {f.name: f for f in endpoint.params} if endpoint else {}
    now = clock.now()
    for name, value in ((str(n).strip(), str(v).strip()) for n, v in params):
        if not PARAM_NAME.fullmatch(name):
            errors.append(BAD_PARAM_NAME)
            continue
        if name in seen:
            errors.append(REPEATED_PARAM.format(name=name))
            continue
        seen.add(name)
        if len(value) > MAX_PARAM_VALUE or not PARAM_VALUE.fullmatch(value):
            errors.append(BAD_PARAM_VALUE)
            continue
        if endpoint is not None:
            field = declared.get(name)
            if field is None:
                errors.append(UNKNOWN_PARAM.format(label=endpoint.label, name=name,
                                                   known=", ".join(declared) or "none"))
                continue
            try:
                form_field(field).clean(relative_dates.resolve(value, now))
            except ValidationError as exc:
                errors += [BAD_PARAM.format(name=name, error=m) for m in exc.messages]
                continue
        kept.append([name, value])
    if endpoint is not None:
        errors += [MISSING_PARAM.format(label=endpoint.label, name=f.name)
                   for f in endpoint.params if f.required and f.name not in seen]
    if errors:
        raise ValidationError({"params": errors})
    return kept


def _checked(*, connection: Connection, title: str, path: str, params: Sequence[Sequence[str]],
             view: str, value_path: str, time_field: str) -> dict:
    """The values to store, or ValidationError naming the field of each problem."""
    spec = _spec(connection)
    path, endpoint = _checked_path(connection, spec, path)
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors.setdefault("title", []).append(NEEDS_TITLE)
    if view not in Widget.View.values:
        errors.setdefault("view", []).append(
            f"Choose one of: {', '.join(Widget.View.values)}.")
    value_path, time_field = (value_path or "").strip(), (time_field or "").strip()
    if view == Widget.View.LINE and not time_field and endpoint is not None:
        time_field = endpoint.time_field
    for name, value in (("value_path", value_path), ("time_field", time_field)):
        if value and not PATH.fullmatch(value):
            errors.setdefault(name, []).append(BAD_VALUE_PATH)
    if view == Widget.View.LINE and not time_field:
        errors.setdefault("time_field", []).append(NEEDS_TIME_FIELD)
    try:
        params = _checked_params(params, endpoint)
    except ValidationError as exc:
        errors.setdefault("params", []).extend(exc.message_dict["params"])
    if errors:
        raise ValidationError(errors)
    return {"title": title[:100], "path": path, "params": params, "view": view,
            "value_path": value_path, "time_field": time_field}


@transaction.atomic
def widget_create(*, user: AbstractBaseUser, connection: Connection, title: str, path: str,
                  params: Sequence[Sequence[str]] = (), view: str = Widget.View.NUMBER,
                  value_path: str = "", time_field: str = "") -> Widget:
    """Add a widget at the end of the person's dashboard."""
    if connection.user_id != user.pk:  # views look connections up scoped; this is the backstop
        raise ValidationError({"connection": NOT_YOURS})
    values = _checked(connection=connection, title=title, path=path, params=params, view=view,
                      value_path=value_path, time_field=time_field)
    # Locking the person's widgets serialises two adds, so both cannot pass the bound.
    mine = list(Widget.objects.select_for_update().filter(user=user).values_list("pk",
                                                                               flat=True))
    if len(mine) >= MAX_WIDGETS:
        raise ValidationError(TOO_MANY_WIDGETS)
    last = Widget.objects.filter(user=user).aggregate(last=Max("position"))["last"]
    return Widget.objects.create(user=user, connection=connection,
                                 position=0 if last is None else last + 1, **values)


@transaction.atomic
def widget_update(*, widget: Widget, title: str, path: str, params: Sequence[Sequence[str]],
                  view: str, value_path: str = "", time_field: str = "") -> Widget:
    """Change what a widget shows; its connection stays (a new connection is a new widget)."""
    values = _checked(connection=widget.connection, title=title, path=path, params=params,
                      view=view, value_path=value_path, time_field=time_field)
    for name, value in values.items():
        setattr(widget, name, value)
    widget.save(update_fields=list(values))
    return widget


def widget_delete(*, widget: Widget) -> None:
    widget.delete()


@transaction.atomic
def widget_move(*, widget: Widget, offset: int) -> None:
    """Move a widget ``offset`` places (-1: earlier, 1: later), within the dashboard's ends.
    Positions are renumbered 0..n-1, so gaps and ties left by deletes do not matter."""
    ordered = list(Widget.objects.select_for_update().filter(user_id=widget.user_id)
                   .order_by("position", "pk"))
    index = next(n for n, w in enumerate(ordered) if w.pk == widget.pk)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    for position, each in enumerate(ordered):
        if each.position != position:
            each.position = position
            each.save(update_fields=["position"])
