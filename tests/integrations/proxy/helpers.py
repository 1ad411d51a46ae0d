"""Connections for the proxy's tests: keys are fake and recognisable, so leak checks can grep."""

import json

from integrations.models import Connection
from tests.factories import allow_dashboard, make_connection

STRIPE_KEY = "rk_test_ProxyKey0123456789"
SENDGRID_KEY = "SG.proxy-key-id-000001.proxy-key-secret-0000000001"
CUSTOM_KEY = "custom-api-key-proxy-0001"
STRIPE_API = "https://api.stripe.com/v1/"
SENDGRID_API = "https://api.sendgrid.com/"
CUSTOM_BASE = "https://api.weather.test/v1/"
CHARGES = {"object": "list", "has_more": False,
           "data": [{"id": "ch_1", "amount": 1099, "created": 1767225600}]}


def stripe_connection(user, **kwargs) -> Connection:
    allow_dashboard(user)
    return make_connection(user, "stripe", external_id="test_abc", access_token="",
                           refresh_token="", expires_in=None,
                           secret=json.dumps({"token": STRIPE_KEY}), **kwargs)


def sendgrid_connection(user) -> Connection:
    allow_dashboard(user)
    return make_connection(user, "sendgrid", external_id="proxy-key-id-000001", access_token="",
                           refresh_token="", expires_in=None,
                           secret=json.dumps({"token": SENDGRID_KEY}))


def custom_connection(user, *, base_url: str = CUSTOM_BASE, **config) -> Connection:
    allow_dashboard(user)
    connection = make_connection(user, "custom_api", external_id=base_url, access_token="",
                                 refresh_token="", expires_in=None,
                                 secret=json.dumps({"api_key": CUSTOM_KEY}))
    connection.config = {"name": "Weather", "base_url": base_url, "auth_kind": "api_key",
                         "header_name": "X-Api-Key", **config}
    connection.save(update_fields=["config"])
    return connection
