from django import forms


class NotificationSettingsForm(forms.Form):
    email_on_health = forms.BooleanField(
        required=False, label="E-mail me when a connection fails",
        help_text="One e-mail when a connection starts failing or needs reconnecting; the "
                  "notice here appears either way.",
    )
