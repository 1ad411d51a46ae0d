"""Logging helpers referenced from settings.LOGGING."""

import logging

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
