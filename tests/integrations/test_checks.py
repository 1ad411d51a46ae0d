"""integrations/checks.py: check --deploy refuses production without explicit Fernet keys."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from integrations.checks import PUBLISHED_FERNET_KEYS, PUBLISHED_SECRET_KEYS


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


@pytest.mark.parametrize("key", sorted(PUBLISHED_FERNET_KEYS))
def test_deploy_check_refuses_every_published_fernet_key(settings, key):
    settings.THINKALIKE_FERNET_KEYS = ["an-own-key", key]  # also when it is only an old key
    with pytest.raises(SystemCheckError, match=r"thinkalike\.E003"):
        call_command("check", "--deploy", "--fail-level", "ERROR")


def test_published_keys_are_the_ones_in_the_repository():
    """The list follows the demo script and the test settings, so a new demo key is caught."""
    root = Path(__file__).resolve().parents[2]
    text = "".join((root / name).read_text()
                   for name in ("scripts/demo.sh", "thinkalike/settings_test.py"))
    for key in PUBLISHED_FERNET_KEYS | PUBLISHED_SECRET_KEYS:
        assert key in text
    assert "THINKALIKE_FERNET_KEYS:-demo-only-fernet-key-do-not-use-in-production" in text


def test_deploy_check_refuses_the_published_secret_key(settings):
    settings.SECRET_KEY = "demo-only-secret-key-do-not-use-in-production"
    with pytest.raises(SystemCheckError, match=r"thinkalike\.E004"):
        call_command("check", "--deploy", "--fail-level", "ERROR")
