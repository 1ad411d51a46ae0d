"""The lists the MyAnimeList and Kitsu stand-ins keep: one catalogue of titles both services
know, and each service's demo account with its own entries (StandInListEntry rows), seeded on
first use. Eleven titles are on both lists, under the same MyAnimeList id (Kitsu's mappings
give it), so the library merges them; Mushishi is only on MyAnimeList and the One Piece manga
only on Kitsu. Tests read a list with ``list_state``."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import QuerySet

from integrations import clock
from integrations.sandbox.models import StandInListEntry

MAL = StandInListEntry.Service.MYANIMELIST
KITSU = StandInListEntry.Service.KITSU
# The one account each stand-in has (its token or password grant always names it).
MAL_ACCOUNT = {"id": 7654321, "name": "demo_otaku", "location": "",
               "joined_at": "2019-04-01T10:00:00+00:00"}
KITSU_ACCOUNT = {"id": "424242", "name": "demo_otaku", "slug": "demo-otaku",
                 "email": "demo-otaku@example.com"}
ACCOUNTS = {MAL: str(MAL_ACCOUNT["id"]), KITSU: KITSU_ACCOUNT["id"]}
SEEDED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FIRST_ENTRY_ID = 80_000_001  # Kitsu library entry ids, one per seeded Kitsu entry

# Each service's status words; the seed is written in Kitsu's and translated for MAL.
STATUSES = {
    (MAL, "anime"): ("watching", "completed", "on_hold", "dropped", "plan_to_watch"),
    (MAL, "manga"): ("reading", "completed", "on_hold", "dropped", "plan_to_read"),
    (KITSU, "anime"): ("current", "planned", "completed", "on_hold", "dropped"),
    (KITSU, "manga"): ("current", "planned", "completed", "on_hold", "dropped"),
}
MAL_STATUS = {"current": {"anime": "watching", "manga": "reading"},
              "planned": {"anime": "plan_to_watch", "manga": "plan_to_read"}}


@dataclass(frozen=True)
class Title:
    kind: str
    mal_id: int
    kitsu_id: int
    title: str
    en: str
    ja: str
    total: int | None  # episodes or chapters; None while still running
    genres: tuple[str, ...]  # MyAnimeList's genres
    categories: tuple[str, ...]  # Kitsu's categories
    subtype: str = "TV"


CATALOGUE = (
    Title("anime", 1, 1, "Cowboy Bebop", "Cowboy Bebop", "カウボーイビバップ", 26,
          ("Action", "Award Winning", "Sci-Fi"), ("Space", "Science Fiction")),
    Title("anime", 21, 12, "One Piece", "One Piece", "ONE PIECE", None,
          ("Action", "Adventure", "Fantasy"), ("Pirate", "Adventure")),
    Title("anime", 9253, 5646, "Steins;Gate", "Steins;Gate", "STEINS;GATE", 24,
          ("Drama", "Sci-Fi", "Suspense"), ("Time Travel", "Science Fiction")),
    Title("anime", 16498, 7442, "Shingeki no Kyojin", "Attack on Titan", "進撃の巨人", 25,
          ("Action", "Award Winning", "Drama", "Suspense"), ("Post Apocalypse", "Military")),
    Title("anime", 5114, 3936, "Fullmetal Alchemist: Brotherhood",
          "Fullmetal Alchemist: Brotherhood", "鋼の錬金術師 FULLMETAL ALCHEMIST", 64,
          ("Action", "Adventure", "Drama", "Fantasy"), ("Magic", "Military")),
    Title("anime", 1535, 1376, "Death Note", "Death Note", "デスノート", 37,
          ("Supernatural", "Suspense"), ("Detective", "Psychological")),
    Title("anime", 199, 176, "Sen to Chihiro no Kamikakushi", "Spirited Away",
          "千と千尋の神隠し", 1, ("Adventure", "Award Winning", "Supernatural"),
          ("Fantasy", "Supernatural"), "movie"),
    Title("anime", 457, 414, "Mushishi", "Mushi-Shi", "蟲師", 26,
          ("Adventure", "Mystery", "Slice of Life", "Supernatural"), ("Supernatural",)),
    Title("manga", 2, 38, "Berserk", "Berserk", "ベルセルク", None,
          ("Action", "Adventure", "Drama", "Fantasy", "Horror"), ("Dark Fantasy",), "manga"),
    Title("manga", 656, 3, "Vagabond", "", "バガボンド", 327,
          ("Action", "Adventure", "Historical"), ("Samurai",), "manga"),
    Title("manga", 1, 9, "Monster", "Monster", "MONSTER", 162,
          ("Drama", "Mystery", "Suspense"), ("Psychological", "Detective"), "manga"),
    Title("manga", 104, 20, "Yotsuba to!", "Yotsuba&!", "よつばと!", None,
          ("Comedy", "Slice of Life"), ("Slice of Life",), "manga"),
    Title("manga", 13, 23, "One Piece", "One Piece", "ONE PIECE", None,
          ("Action", "Adventure", "Fantasy"), ("Pirate",), "manga"),
)
# (kind, MyAnimeList id) -> (Kitsu status, progress, score 1-10 or 0, on which services).
BOTH = (MAL, KITSU)
SEED = {
    ("anime", 1): ("completed", 26, 10, BOTH),
    ("anime", 21): ("current", 1100, 9, BOTH),
    ("anime", 9253): ("planned", 0, 0, BOTH),
    ("anime", 16498): ("completed", 25, 8, BOTH),
    ("anime", 5114): ("current", 30, 10, BOTH),
    ("anime", 1535): ("on_hold", 12, 7, BOTH),
    ("anime", 199): ("completed", 1, 9, BOTH),
    ("anime", 457): ("current", 10, 0, (MAL,)),
    ("manga", 2): ("current", 364, 10, BOTH),
    ("manga", 656): ("dropped", 87, 0, BOTH),
    ("manga", 1): ("completed", 162, 9, BOTH),
    ("manga", 104): ("current", 100, 8, BOTH),
    ("manga", 13): ("planned", 0, 0, (KITSU,)),
}
CATEGORY_IDS = {name: 150 + n for n, name in enumerate(sorted(
    {c for title in CATALOGUE for c in title.categories}))}


def find_title(service: str, kind: str, media_id: int) -> Title | None:
    """The catalogue's title of ``media_id`` as ``service`` numbers it."""
    for title in CATALOGUE:
        if title.kind == kind and media_id == (title.mal_id if service == MAL
                                               else title.kitsu_id):
            return title
    return None


def mal_status(status: str, kind: str) -> str:
    return MAL_STATUS.get(status, {}).get(kind, status)


def new_entry(service: str, title: Title, *, status: str, progress: int = 0,
              score: int | None = None, entry_id: int | None = None) -> StandInListEntry:
    return StandInListEntry(
        service=service, account=ACCOUNTS[service], kind=title.kind,
        media_id=title.mal_id if service == MAL else title.kitsu_id, entry_id=entry_id,
        mal_id=title.mal_id, title=title.title, title_en=title.en, title_ja=title.ja,
        total=title.total, status=status, progress=progress, score=score,
        genres=list(title.genres if service == MAL else title.categories),
        updated_at=SEEDED_AT)


def _seed_rows(service: str) -> list[StandInListEntry]:
    rows = []
    for n, title in enumerate(CATALOGUE):
        status, progress, score, services = SEED[title.kind, title.mal_id]
        if service not in services:
            continue
        if service == MAL:
            rows.append(new_entry(MAL, title, status=mal_status(status, title.kind),
                                  progress=progress, score=score))
        else:
            rows.append(new_entry(KITSU, title, status=status, progress=progress,
                                  score=score * 2 or None, entry_id=FIRST_ENTRY_ID + n))
    return rows


def list_entries(service: str, kind: str | None = None) -> QuerySet[StandInListEntry]:
    """The demo account's entries at ``service`` (of one ``kind``), seeded when it has none:
    two first requests at once seed once (the unique constraints drop the second)."""
    rows = StandInListEntry.objects.filter(service=service, account=ACCOUNTS[service])
    if not rows.exists():
        with transaction.atomic():
            StandInListEntry.objects.bulk_create(_seed_rows(service), ignore_conflicts=True)
    return rows.filter(kind=kind) if kind else rows


def list_state(service: str, kind: str | None = None) -> dict[tuple[str, int], dict]:
    """What the stand-in's list holds now, for tests and the demo: {(kind, media id):
    {status, progress, score, repeating, updated_at, entry_id, mal_id, title}}."""
    return {(row.kind, row.media_id): {
        "status": row.status, "progress": row.progress, "score": row.score,
        "repeating": row.repeating, "updated_at": row.updated_at, "entry_id": row.entry_id,
        "mal_id": row.mal_id, "title": row.title,
    } for row in list_entries(service, kind)}


def entry_save(row: StandInListEntry, **values) -> StandInListEntry:
    """Set ``values`` on ``row`` (new or saved) and stamp it with the time of the change."""
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = clock.now()
    row.save()
    return row


def iso(moment: datetime, *, millis: bool = False) -> str:
    """MyAnimeList's ``+00:00`` time, or Kitsu's ``.000Z`` one (``millis``)."""
    moment = moment.astimezone(UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.replace(microsecond=0).isoformat()
