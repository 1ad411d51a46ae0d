"""Logging helpers referenced from settings.LOGGING."""

import logging

from integrations.redaction import redact_text

# Django logs expected refusals (403 PermissionDenied, SuspiciousOperation, 4xx responses) with
# the exception attached, which prints a full traceback for something that is not a bug.
EXPECTED_REFUSAL_LOGGERS = ("django.security", "django.request")


class DropExpectedTraceback(logging.Filter):
    """Keep refusals (WARNING and below from Django's request/security loggers) to one line.

    Errors keep their traceback: a 500 is a bug and its traceback is what fixes it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR and record.name.startswith(EXPECTED_REFUSAL_LOGGERS):
            record.exc_info = None
            record.exc_text = None
        return True


class RedactSecrets(logging.Filter):
    """Replace secrets in the message (redaction.redact_text): urllib3 logs every request URL
    at DEBUG and Django logs the path of every 4xx answer, and a bot token lives in the path.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it itself
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
