from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExternalItem(models.Model):
    """A record imported from a provider, reduced to what a feature uses (data minimisation)."""

    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="items",
        verbose_name=_("connection"),
    )
    kind = models.CharField(_("kind"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=255)
    title = models.CharField(_("title"), max_length=500)
    attrs = models.JSONField(_("attributes"), default=dict, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last changed"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # Two-way sync (library/merge.py): the library entry this record is, and the merge's base:
    # what was last synced, {field: value} in the service's own terms (MAL score 9, not 87),
    # plus when ("at") and the remote version ("updated_at").
    library_entry = models.ForeignKey(
        "library.LibraryEntry", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="external_items", verbose_name=_("library entry"),
    )
    synced = models.JSONField(_("last synced values"), default=dict, blank=True)

    class Meta:
        verbose_name = _("imported item")
        verbose_name_plural = _("imported items")
        ordering = ["kind", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "external_id"],
                name="integrations_externalitem_unique_external_id",
            ),
            # One record per library entry and connection: a push has one place to go.
            models.UniqueConstraint(
                fields=["connection", "library_entry"],
                condition=models.Q(library_entry__isnull=False),
                name="integrations_externalitem_unique_library_entry",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Interest(models.Model):
    """An interest signal ThinkAlike matches on, e.g. ``music:shoegaze``."""

    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    label = models.CharField(_("label"), max_length=150)
    category = models.CharField(_("category"), max_length=50)

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")
        ordering = ["category", "label"]

    def __str__(self) -> str:
        return self.label


class UserInterest(models.Model):
    """How strongly one connection says a person holds an interest, for one consent purpose.

    A purpose's rows derive only from the items of the streams that serve that purpose, and are
    normalised within that purpose (its strongest interest is 1), so a stream that does not
    serve a purpose can never shape what that purpose receives. A row is handed to its purpose
    only when consent allows it at read time.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="interests",
        verbose_name=_("user"),
    )
    interest = models.ForeignKey(
        Interest, on_delete=models.CASCADE, related_name="holders", verbose_name=_("interest")
    )
    connection = models.ForeignKey(
        "integrations.Connection", on_delete=models.CASCADE, related_name="interests",
        verbose_name=_("connection"),
    )
    purpose = models.CharField(_("purpose"), max_length=50)
    weight = models.FloatField(_("weight"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("user interest")
        verbose_name_plural = _("user interests")
        ordering = ["-weight", "interest__label"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "interest", "purpose"],
                name="integrations_userinterest_unique_purpose",
            ),
        ]
        indexes = [
            # interests_for_purpose: one person's rows for one purpose.
            models.Index(fields=["user", "purpose"], name="integrations_ui_user_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.interest} for {self.purpose} ({self.weight:.2f})"
