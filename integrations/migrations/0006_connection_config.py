from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0005_userinterest_per_purpose"),
    ]

    operations = [
        migrations.AddField(
            model_name="connection",
            name="config",
            field=models.JSONField(blank=True, default=dict, verbose_name="configuration"),
        ),
    ]
