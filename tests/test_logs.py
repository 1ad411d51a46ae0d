"""thinkalike/logs.py: what the console handler prints has no secret in it."""

import io
import logging

from thinkalike.logs import RedactSecrets

TOKEN = "123456789:AAE-logged-SECRET-token-0123456789"


def console_handler() -> logging.Handler:
    """The handler settings.LOGGING gives the root logger."""
    handlers = [h for h in logging.getLogger().handlers
                if any(isinstance(f, RedactSecrets) for f in h.filters)]
    assert len(handlers) == 1, "settings.LOGGING's console handler redacts secrets"
    return handlers[0]


def test_a_bot_token_in_a_logged_url_is_not_printed():
    handler = console_handler()
    printed = io.StringIO()
    old = handler.setStream(printed)
    try:
        # The shape of urllib3's DEBUG line and of Django's 4xx warning.
        for name, msg, args in (
            ("urllib3.connectionpool", '%s://%s:%s "%s %s %s" %s %s',
             ("https", "api.telegram.org", 443, "POST", f"/bot{TOKEN}/sendMessage",
              "HTTP/1.1", 200, 297)),
            ("django.request", "%s: %s", ("Bad Request", f"/stand-ins/telegram/bot{TOKEN}/x")),
        ):
            handler.handle(logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args,
                                             None))
    finally:
        handler.setStream(old)
    text = printed.getvalue()
    assert "/sendMessage" in text and "Bad Request" in text
    assert TOKEN not in text and "SECRET" not in text


def test_a_malformed_call_is_left_to_logging():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert RedactSecrets().filter(record) and record.args == ("one",)
