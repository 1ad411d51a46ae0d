from django.apps import AppConfig


class SandboxOAuthConfig(AppConfig):
    # A label of its own: "sandbox" is the label of the sandbox server app.
    name = "integrations.allauth.sandbox"
    label = "sandbox_oauth"
    verbose_name = "Sandbox sign-in (allauth provider)"
