"""A custom API's answers for the contract test: a bearer-protected API whose test path answers a
small status document. It has no streams, so no sync answers and nothing to revoke."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

HOST = "api.example-custom.test"
API = f"https://{HOST}/v2/"

CONTRACT = Contract(
    fields={"name": "Weather station", "base_url": f"https://{HOST}/v2", "auth_kind": "bearer",
            "token": "contract-custom-token-0001", "test_path": "/status"},
    # The typed base URL is resolved at connect: a public address (example.com's).
    dns={HOST: "93.184.215.14"},
    connect=(Answer("GET", API + "status", fixture(__file__, "status"),
                    headers={"Cache-Control": "no-store"}),),
    errors=(
        ErrorCase(401, Verdict.REFRESH_THEN_RETRY, {"error": "invalid_token"},
                  headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}),
        ErrorCase(403, Verdict.RECONNECT, {"error": "forbidden"}),
        ErrorCase(429, Verdict.RATE_LIMITED, {"error": "too_many_requests"},
                  headers={"Retry-After": "20"}),
        ErrorCase(503, Verdict.TRY_LATER, headers={"Retry-After": "60"}),
    ),
)
