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
