"""allauth provider for the built-in sandbox (integrations.sandbox)."""
