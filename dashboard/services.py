"""State changes of dashboard widgets. Views and commands call these only.

A widget is checked against its connection's proxy spec when it is saved: only a declared
endpoint (or any safe path of an ``any_path`` provider), only declared parameters, each value
(relative dates resolved) valid for its declared field. The proxy checks again on every load.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from integrations import clock
from integrations.models import Connection
from integrations.proxy import paths
from integrations.proxy.spec import ProxyEndpoint, ProxyError, ProxySpec

from . import relative_dates
from .models import Widget
from .render import PATH
from .selectors import proxy_spec_for

MAX_WIDGETS = 24  # each one polls: a bound on what one page asks of the proxy
MAX_PARAMS = 20
MAX_PARAM_VALUE = 200
# The columns' sizes (Widget): longer values are refused, never cut or left to the database.
MAX_PATH = Widget._meta.get_field("path").max_length
MAX_TITLE = Widget._meta.get_field("title").max_length
FIELD_LIMITS = {name: Widget._meta.get_field(name).max_length
                for name in ("value_path", "time_field")}

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
BAD_PARAM_NAME = "A parameter name is letters, digits and _ . - [ ] (at most 64)."
BAD_PARAM_VALUE = f"A parameter value is one line of at most {MAX_PARAM_VALUE} characters."
BAD_VALUE_PATH = "A dotted path of keys, such as data.0.amount (at most {limit} characters)."
NEEDS_TIME_FIELD = "A line chart needs the time field of each record, such as created."
NEEDS_TITLE = "Give the widget a title (at most 100 characters)."


def _spec(connection: Connection) -> ProxySpec:
    spec = proxy_spec_for(connection)
    if spec is None:
        raise ValidationError({"connection": NO_PROXY.format(name=connection.provider_name)})
    return spec


def _checked_path(connection: Connection, spec: ProxySpec, path: str
                  ) -> tuple[str, ProxyEndpoint | None]:
    """The path to store (normalised as the proxy does), and its declared endpoint (None for
    an ``any_path`` provider's own). The proxy's own check decides, so a saved widget is one
    the proxy will answer."""
    path = (path or "").strip()
    try:
        if not path or len(path) > MAX_PATH:
            raise ProxyError(400, "bad_path", "")
        return paths.match(spec, "GET", path)
    except ProxyError:
        if spec.any_path:
            raise ValidationError({"path": BAD_PATH}) from None
        listed = ", ".join(e.path for e in spec.endpoints)
        raise ValidationError({"path": NOT_DECLARED.format(name=connection.provider_name,
                                                           paths=listed)}) from None


def _checked_params(params: Sequence[Sequence[str]], endpoint: ProxyEndpoint | None
                    ) -> list[list[str]]:
    """``params`` as stored ([name, value] pairs). Each is checked by the proxy's rules as the
    value it resolves to now (a relative date), with messages that say what to change."""
    if len(params) > MAX_PARAMS:
        raise ValidationError({"params": TOO_MANY_PARAMS})
    pairs = [(str(name).strip(), str(value).strip()) for name, value in params]
    errors = [BAD_PARAM_VALUE for _, value in pairs if len(value) > MAX_PARAM_VALUE]
    now = clock.now()
    try:
        paths.check_params(endpoint, [(n, relative_dates.resolve(v, now)) for n, v in pairs])
    except ProxyError as exc:
        errors += [_param_problem(endpoint, name, problem)
                   for name, problems in exc.fields.items() for problem in problems]
        if not exc.fields:
            errors.append(exc.message)
    if errors:
        raise ValidationError({"params": errors})
    return [[name, value] for name, value in pairs]


def _param_problem(endpoint: ProxyEndpoint | None, name: str, problem: str) -> str:
    if endpoint is not None and problem == paths.UNKNOWN_PARAM:
        known = ", ".join(f.name for f in endpoint.params) or "none"
        return UNKNOWN_PARAM.format(label=endpoint.label, name=name, known=known)
    if endpoint is not None and problem == paths.REQUIRED:
        return MISSING_PARAM.format(label=endpoint.label, name=name)
    if problem == paths.BAD_PARAM_NAME:
        return BAD_PARAM_NAME
    if problem == paths.REPEATED_PARAM:
        return REPEATED_PARAM.format(name=name)
    return BAD_PARAM.format(name=name, error=problem)


def _checked(*, connection: Connection, title: str, path: str, params: Sequence[Sequence[str]],
             view: str, value_path: str, time_field: str) -> dict:
    """The values to store, or ValidationError naming the field of each problem."""
    spec = _spec(connection)
    path, endpoint = _checked_path(connection, spec, path)
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        errors.setdefault("title", []).append(NEEDS_TITLE)
    if view not in Widget.View.values:
        errors.setdefault("view", []).append(
            f"Choose one of: {', '.join(Widget.View.values)}.")
    value_path, time_field = (value_path or "").strip(), (time_field or "").strip()
    if view == Widget.View.LINE and not time_field and endpoint is not None:
        time_field = endpoint.time_field
    for name, value in (("value_path", value_path), ("time_field", time_field)):
        limit = FIELD_LIMITS[name]
        if value and (len(value) > limit or not PATH.fullmatch(value)):
            errors.setdefault(name, []).append(BAD_VALUE_PATH.format(limit=limit))
    if view == Widget.View.LINE and not time_field:
        errors.setdefault("time_field", []).append(NEEDS_TIME_FIELD)
    try:
        params = _checked_params(params, endpoint)
    except ValidationError as exc:
        errors.setdefault("params", []).extend(exc.message_dict["params"])
    if errors:
        raise ValidationError(errors)
    return {"title": title, "path": path, "params": params, "view": view,
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
