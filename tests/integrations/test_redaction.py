"""integrations/redaction.py: secrets are replaced wherever they sit."""

from integrations.redaction import REDACTED, redact_mapping

KEYS = {"api_key", "access_token"}


def test_redact_mapping_replaces_declared_keys_at_any_depth_and_in_lists():
    data = {
        "api_key": "k-top",
        "base_url": "https://api.example.com",
        "next": {"params": {"page": 2, "ACCESS_TOKEN": "t-nested"}},
        "segments": [{"api_key": "k-in-list"}, "plain", [{"Api_Key": "k-deeper"}]],
    }

    out = redact_mapping(data, KEYS)

    assert out == {
        "api_key": REDACTED,
        "base_url": "https://api.example.com",
        "next": {"params": {"page": 2, "ACCESS_TOKEN": REDACTED}},
        "segments": [{"api_key": REDACTED}, "plain", [{"Api_Key": REDACTED}]],
    }
    for secret in ("k-top", "t-nested", "k-in-list", "k-deeper"):
        assert secret not in repr(out)


def test_redact_mapping_leaves_its_input_alone():
    data = {"next": {"api_key": "k"}, "list": [{"api_key": "k"}]}
    redact_mapping(data, KEYS)
    assert data == {"next": {"api_key": "k"}, "list": [{"api_key": "k"}]}


def test_a_bot_token_is_redacted_without_being_named():
    from integrations.redaction import redact_text

    path = "/bot123456789:AAE-secret_part-0123456789abcdef/sendMessage"
    assert redact_text(path) == f"/bot{REDACTED}/sendMessage"
    # Times, ports and short ids are not tokens.
    for text in ("at 06:25:24,287", "http://127.0.0.1:8000/x", "chat -100123:42"):
        assert redact_text(text) == text
