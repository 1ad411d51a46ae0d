"""integrations/checks.py: check --deploy refuses production without explicit Fernet keys."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_deploy_check_fails_without_fernet_keys(settings):
    settings.THINKALIKE_FERNET_KEYS = []
    with pytest.raises(SystemCheckError, match=r"thinkalike\.E001"):
        call_command("check", "--deploy", "--fail-level", "ERROR")


def test_deploy_check_refuses_the_secret_key_as_fernet_key(settings):
    settings.THINKALIKE_FERNET_KEYS = [settings.SECRET_KEY]
    with pytest.raises(SystemCheckError, match=r"thinkalike\.E002"):
        call_command("check", "--deploy", "--fail-level", "ERROR")


def test_deploy_check_passes_our_rule_with_keys(settings):
    from integrations.checks import fernet_keys_configured

    settings.THINKALIKE_FERNET_KEYS = ["a-real-key"]
    assert fernet_keys_configured(None) == []
