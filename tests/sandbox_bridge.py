"""Route ``requests`` calls for the sandbox's host into this Django process.

The sandbox runs in the test's own database transaction, so a test can connect, sync and
assert on both sides without a server or a socket. Register with
``pytest_plugins = ["tests.sandbox_bridge"]`` and ask for the ``sandbox`` fixture.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.test import Client

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Django's test client sets these itself from the body and the host it is given.
SKIPPED_HEADERS = {"host", "content-type", "content-length"}


@dataclass
class SandboxBridge:
    host: str
    calls: list[tuple[str, str]] = field(default_factory=list)

    def knobs(self, **changes):
        from integrations.sandbox.models import SandboxKnobs

        knobs = SandboxKnobs.get()
        for name, value in changes.items():
            if not hasattr(knobs, name):
                raise AttributeError(f"SandboxKnobs has no knob {name!r}")
            setattr(knobs, name, value)
        knobs.save()
        return knobs

    def paths(self) -> list[str]:
        return [path for _, path in self.calls]

    def __call__(self, prepared):
        """A ``responses`` callback: answer ``prepared`` with the sandbox's real response."""
        url = urlsplit(prepared.url)
        self.calls.append((prepared.method, url.path))
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {
            name: value for name, value in prepared.headers.items()
            if name.lower() not in SKIPPED_HEADERS
        }
        response = Client(HTTP_HOST=self.host).generic(
            prepared.method,
            url.path + (f"?{url.query}" if url.query else ""),
            data=body,
            content_type=prepared.headers.get("Content-Type", "application/octet-stream"),
            secure=url.scheme == "https",
            headers=headers,
        )
        return response.status_code, dict(response.items()), response.content


@pytest.fixture
def sandbox(mocked_responses, settings):
    """Turn the sandbox on and send every request for its host into the Django app."""
    settings.THINKALIKE_SANDBOX = True
    base = urlsplit(settings.THINKALIKE_SANDBOX_URL)
    bridge = SandboxBridge(host=base.netloc)
    if mocked_responses is not None:  # realserver/browser tests talk to a real server instead
        pattern = re.compile(re.escape(f"{base.scheme}://{base.netloc}") + r"(/.*)?$")
        for method in METHODS:
            mocked_responses.add_callback(method, pattern, callback=bridge)
    return bridge
