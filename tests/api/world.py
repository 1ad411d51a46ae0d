"""Two people with one of every kind of object, for tests that go over the whole API.

The caller's objects get ordinary ids. The other person's carry distinctive ids (7x00001, one
range per table) and strings containing ``FOREIGN``, so any answer that shows one of them can
be caught by a text search, and guessing their ids is something a test can do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from consent.models import ConsentEvent, ConsentGrant
from consent.purposes import MATCHING, PURPOSES
from consent.services import consent_set
from integrations.api_tokens import api_token_create
from integrations.models import (
    ActionRun,
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.providers.registry import PROVIDERS
from library.models import LibraryConflict, LibraryEntry, MediaTitle
from tests.factories import make_connection

FOREIGN = "FOREIGN"
# One id range per table, far from the caller's, so an id never means two objects.
FOREIGN_IDS = {
    "connection": 7100001, "run": 7200001, "item": 7300001, "action": 7400001,
    "user": 7500001, "interest": 7600001, "apicall": 7700001, "credential": 7800001,
    "entry": 7900001,
}
# The other person's anime list connection: a second connection of theirs, so not in the
# id pattern; its strings carry FOREIGN.
FOREIGN_LIST_CONNECTION = 7100002


@dataclass
class World:
    caller_ids: dict[str, list] = field(default_factory=dict)  # kind -> the caller's ids/keys
    foreign_ids: dict[str, list] = field(default_factory=dict)  # kind -> the other person's
    foreign_strings: list[str] = field(default_factory=list)  # secrets and labels of theirs

    def leaks(self, text: str, sent: str = "") -> list[str]:
        """The other person's ids and strings found in ``text`` (a response), leaving out what
        the request itself carried (``sent``: an id guessed in the URL may be echoed back)."""
        found = [s for s in self.foreign_strings if s in text and s not in sent]
        found += [m.group() for m in re.finditer(r"(?<![\w.])7[1-9]00001(?!\w)", text)
                  if m.group() not in sent]
        if FOREIGN in text and FOREIGN not in sent:
            found.append(FOREIGN)
        return found

    def path_values(self) -> tuple[list[int], list[str]]:
        """Ids for path parameters: (integers, strings), the caller's and the other's."""
        every = [v for ids in (*self.caller_ids.values(), *self.foreign_ids.values())
                 for v in ids]
        # In the order seeded (not sorted: token keys are random), so runs draw alike.
        return (list(dict.fromkeys(v for v in every if isinstance(v, int))),
                list(dict.fromkeys(v for v in every if isinstance(v, str))))


def _objects_of(connection: Connection, *, label: str, pk: dict[str, int] | None = None):
    """A run, an item, an action run, a stream cursor, an outbound call and interests."""
    pk = pk or {}
    now = timezone.now()
    run = SyncRun.objects.create(
        pk=pk.get("run"), connection=connection, trigger="manual", status="succeeded",
        started_at=now - timedelta(minutes=1), finished_at=now, fetched=1, created=1,
        progress=f"{label} progress")
    kind = next((s.kind for s in PROVIDERS[connection.provider].streams), "track")
    item = ExternalItem.objects.create(
        pk=pk.get("item"), connection=connection, kind=kind, external_id=f"{label}-item",
        title=f"{label} title", attrs={"genres": [f"{label} genre"]}, content_hash="h")
    action = ActionRun.objects.create(
        pk=pk.get("action"), connection=connection, action="add_track", status="succeeded",
        idempotency_key=f"{label}-idem", external_id=f"{label}-made", summary=f"{label} done",
        input_summary={"title": f"{label} input"}, finished_at=now)
    StreamState.objects.create(connection=connection, stream=kind,
                               cursor={"since": f"{label} cursor"})
    ApiCall.objects.create(pk=pk.get("apicall"), connection=connection,
                           provider=connection.provider, method="GET", host="api.example.com",
                           path=f"/{label}/path", status_code=200)
    AuditEvent.objects.create(user=connection.user, provider=connection.provider,
                              connection_ref=connection.pk, action="connected",
                              message=f"{label} audit")
    interest, _ = Interest.objects.get_or_create(
        slug=f"music:{label.lower()}-interest", defaults={"label": f"{label} interest",
                                                          "category": "music"})
    interests = [
        UserInterest.objects.create(
            pk=(pk["interest"] + i) if "interest" in pk else None, user=connection.user,
            interest=interest, connection=connection, purpose=purpose, weight=1.0)
        for i, purpose in enumerate(PURPOSES)
    ]
    return run, item, action, interests


def _library_of(connection: Connection, *, label: str, mal_id: int,
                pk: int | None = None) -> LibraryEntry:
    """An anime list entry linked to ``connection``'s item, with a conflict."""
    title = MediaTitle.objects.create(kind="anime", mal_id=mal_id,
                                      titles={"en": f"{label} anime"})
    entry = LibraryEntry.objects.create(pk=pk, user=connection.user, title=title,
                                        status="current", progress=3, score=80)
    ExternalItem.objects.create(
        connection=connection, kind="anime", external_id=str(mal_id), title=f"{label} anime",
        content_hash="h", library_entry=entry,
        attrs={"status": "watching", "progress": 3, "score": 8, "mal_id": mal_id},
        synced={"status": "watching", "progress": 3, "score": 8})
    LibraryConflict.objects.create(entry=entry, field="status", local_value=f"{label}-here",
                                   remote_value=f"{label}-there", winner="local",
                                   provider=connection.provider)
    return entry


def seed_world(user, other_user) -> World:
    """The caller (``user``) with two connections and everything under them, tokens and
    consent; the other person with the same, under FOREIGN ids and strings."""
    world = World()
    mine = [make_connection(user, "sandbox", external_id="mine-1"),
            make_connection(user, "stripe", external_id="mine-2", secret="sk_test_mine")]
    world.caller_ids = {"connection": [c.pk for c in mine], "run": [], "item": [],
                        "action": [], "token": []}
    my_list = make_connection(user, "myanimelist", external_id="mine-3")
    world.caller_ids["connection"].append(my_list.pk)
    world.caller_ids["entry"] = [_library_of(my_list, label="Mine", mal_id=21).pk]
    for connection in mine:
        run, item, action, _ = _objects_of(connection, label="Mine")
        world.caller_ids["run"].append(run.pk)
        world.caller_ids["item"].append(item.pk)
        world.caller_ids["action"].append(action.pk)
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    for name in ("laptop script", "report"):
        token, _ = api_token_create(user=user, name=name)
        world.caller_ids["token"].append(token.token_key)

    theirs = Connection.objects.create(
        pk=FOREIGN_IDS["connection"], user=other_user, provider="stripe",
        external_account_id="FOREIGN-account", account_label="FOREIGN-label",
        next_sync_at=timezone.now(), last_error="FOREIGN-error")
    secrets = ["FOREIGN-access-token", "FOREIGN-refresh-token", "sk_live_FOREIGN_secret"]
    Credential.objects.create(pk=FOREIGN_IDS["credential"], connection=theirs,
                              access_token=secrets[0], refresh_token=secrets[1],
                              secret=secrets[2], token_type="Bearer", fingerprint="f0re")
    _objects_of(theirs, label="FOREIGN", pk=FOREIGN_IDS)
    their_list = Connection.objects.create(
        pk=FOREIGN_LIST_CONNECTION, user=other_user, provider="myanimelist",
        external_account_id="FOREIGN-mal-account", account_label="FOREIGN-mal-label",
        next_sync_at=timezone.now())
    Credential.objects.create(connection=their_list, access_token="FOREIGN-mal-token",
                              token_type="Bearer", fingerprint="f0rf")
    _library_of(their_list, label="FOREIGN", mal_id=52991, pk=FOREIGN_IDS["entry"])
    for purpose in PURPOSES:  # everything allowed: nothing but scoping keeps it from the caller
        consent_set(user=other_user, purpose=purpose, granted=True)
        consent_set(user=other_user, purpose=purpose, granted=True, provider="stripe")
    # Their consent, recognisable too: an answer for a provider no longer installed, and a
    # history under a policy version of their own.
    ConsentGrant.objects.create(user=other_user, provider="FOREIGN-retired", purpose=MATCHING,
                                granted=True)
    ConsentEvent.objects.filter(user=other_user).update(policy_version="FOREIGN-v1")
    token, plain = api_token_create(user=other_user, name="FOREIGN token")
    world.foreign_ids = {
        "connection": [theirs.pk, their_list.pk], "run": [FOREIGN_IDS["run"]],
        "item": [FOREIGN_IDS["item"]], "action": [FOREIGN_IDS["action"]],
        "token": [token.token_key], "entry": [FOREIGN_IDS["entry"]],
    }
    world.foreign_strings = [*secrets, "FOREIGN-mal-token", plain, token.token_key,
                             token.digest, other_user.email]
    return world


def foreign_user():
    """The other person, under a distinctive id too."""
    return get_user_model().objects.create_user(
        pk=FOREIGN_IDS["user"], username="foreign", email="foreign.person@example.net",
        password="pw-foreign-0123")
