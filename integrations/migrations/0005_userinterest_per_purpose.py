"""UserInterest rows become one per (connection, interest, purpose).

The old rows summed weights across streams and unioned their purposes, so they cannot be split
back into per-purpose weights: every connection's interests are recomputed from its items.
Schema changes come first and the data step last, so PostgreSQL never alters a table with
pending deferred-constraint triggers.
"""

from django.db import migrations, models


def recompute_all(apps, schema_editor):
    from integrations.interests import weights_by_purpose
    from integrations.providers.registry import UnknownProvider, get_provider

    Connection = apps.get_model("integrations", "Connection")
    ExternalItem = apps.get_model("integrations", "ExternalItem")
    Interest = apps.get_model("integrations", "Interest")
    UserInterest = apps.get_model("integrations", "UserInterest")
    UserInterest.objects.all().delete()
    for connection in Connection.objects.all().iterator():
        try:
            provider = get_provider(connection.provider)
        except UnknownProvider:
            continue  # its rows are gone; a reinstalled provider recomputes on its next sync
        items = ExternalItem.objects.filter(connection=connection, deleted_at__isnull=True)
        weights, signals = weights_by_purpose(
            provider.streams, items.values_list("kind", "attrs").iterator(chunk_size=2000)
        )
        for slug, signal in signals.items():
            Interest.objects.get_or_create(
                slug=slug, defaults={"label": signal.label[:150], "category": signal.category}
            )
        known = dict(Interest.objects.filter(slug__in=list(signals)).values_list("slug", "pk"))
        UserInterest.objects.bulk_create([
            UserInterest(user_id=connection.user_id, interest_id=known[slug],
                         connection=connection, purpose=purpose, weight=weight)
            for purpose, by_slug in weights.items() for slug, weight in by_slug.items()
        ], batch_size=500)


def forget_all(apps, schema_editor):
    # Going back, rows per purpose cannot become the old summed rows; they are derived data
    # and the next sync that writes items recomputes them.
    apps.get_model("integrations", "UserInterest").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0004_credential_refresh_lease"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="userinterest",
            name="integrations_userinterest_unique",
        ),
        migrations.RemoveField(
            model_name="userinterest",
            name="purposes",
        ),
        migrations.AddField(
            model_name="userinterest",
            name="purpose",
            field=models.CharField(default="", max_length=50, verbose_name="purpose"),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="userinterest",
            constraint=models.UniqueConstraint(
                fields=("connection", "interest", "purpose"),
                name="integrations_userinterest_unique_purpose",
            ),
        ),
        migrations.AddIndex(
            model_name="userinterest",
            index=models.Index(fields=["user", "purpose"], name="integrations_ui_user_purpose"),
        ),
        migrations.RunPython(recompute_all, forget_all),
    ]
