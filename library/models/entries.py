from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from library import statuses
from library.scores import MAX_SCORE


def _unique_when_set(field: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["kind", field], condition=models.Q(**{f"{field}__isnull": False}),
        name=f"library_mediatitle_unique_{field}",
    )


class MediaTitle(models.Model):
    """An anime or a manga, one row whatever service it was first seen on. The cross-ids are
    how an entry of one service is matched with another's (MyAnimeList's id is the one all
    three know)."""

    class Kind(models.TextChoices):
        ANIME = "anime", _("Anime")
        MANGA = "manga", _("Manga")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    titles = models.JSONField(
        _("titles"), default=dict, blank=True,
        help_text=_('The names the services give, e.g. {"en": …, "en_jp": …, "ja_jp": …}.'),
    )
    mal_id = models.PositiveIntegerField(_("MyAnimeList id"), null=True, blank=True)
    anilist_id = models.PositiveIntegerField(_("AniList id"), null=True, blank=True)
    kitsu_id = models.PositiveIntegerField(_("Kitsu id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("media title")
        verbose_name_plural = _("media titles")
        ordering = ["kind", "pk"]
        constraints = [_unique_when_set(f) for f in ("mal_id", "anilist_id", "kitsu_id")]

    def __str__(self) -> str:
        names = self.titles if isinstance(self.titles, dict) else {}
        # English first, then the romanised name, then the original: the keys are those each
        # service gives (Kitsu en/en_jp/ja_jp, AniList english/romaji/native, MyAnimeList
        # en/title/ja).
        for key in ("en", "english", "title", "en_jp", "romaji", "ja_jp", "native", "ja"):
            if isinstance(names.get(key), str) and names[key].strip():
                return names[key].strip()
        return f"{self.get_kind_display()} #{self.pk}"


class LibraryEntry(models.Model):
    """A person's entry for one title: the library's own values, merged from every service.

    Each field keeps when it last changed here: the three-way merge (library/merge.py) lets
    the later change win a conflict. A removal is kept as ``removed_at`` (a change too), so
    it can be pushed and can lose a conflict against an edit on a service.
    """

    class Status(models.TextChoices):
        CURRENT = statuses.CURRENT, _("Current")
        PLANNING = statuses.PLANNING, _("Planning")
        COMPLETED = statuses.COMPLETED, _("Completed")
        PAUSED = statuses.PAUSED, _("Paused")
        DROPPED = statuses.DROPPED, _("Dropped")
        REPEATING = statuses.REPEATING, _("Repeating")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_entries",
        verbose_name=_("user"),
    )
    # PROTECT: titles are shared by everyone's entries; one is never deleted under them.
    title = models.ForeignKey(
        MediaTitle, on_delete=models.PROTECT, related_name="entries", verbose_name=_("title"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNING
    )
    progress = models.PositiveIntegerField(
        _("progress"), null=True, blank=True, help_text=_("Episodes watched or chapters read."),
    )
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MaxValueValidator(MAX_SCORE)],
        help_text=_("0 to 100; empty when unrated."),
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    progress_changed_at = models.DateTimeField(_("progress changed"), null=True, blank=True)
    score_changed_at = models.DateTimeField(_("score changed"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("library entry")
        verbose_name_plural = _("library entries")
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "title"], name="library_entry_unique_title"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=MAX_SCORE),
                name="library_entry_score_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"
