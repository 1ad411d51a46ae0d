"""Stripe's answers for the contract test (docs.stripe.com/api/charges/list, /pagination,
/rate-limits, /error-codes)."""

from integrations.classify import Verdict
from integrations.providers.contract import Answer, Contract, ErrorCase, fixture

API = "https://api.stripe.com/v1/"
KEY = "rk_test_51MmlLrLkdIwHu7ixContractKey0001"
FIRST = {"limit": "100"}
MISSING_BALANCE_READ = {"error": {
    "type": "invalid_request_error",
    "message": "The provided key 'rk_test_*********************************0001' does not have "
               "the required permissions for this endpoint on account 'acct_1MmlLrLkdIwHu7ix'. "
               "Having the 'rak_balance_read' permission would allow this request to continue."}}
SYNC = (
    Answer("GET", API + "charges", fixture(__file__, "charges"), params=FIRST),
    Answer("GET", API + "charges", fixture(__file__, "charges_last"),
           params={**FIRST, "starting_after": "ch_3MmlKqLkdIwHu7ix1aRc5Uq2"}),
    Answer("GET", API + "customers", fixture(__file__, "customers"), params=FIRST),
)

CONTRACT = Contract(
    fields={"token": KEY},
    connect=(Answer("GET", API + "balance", fixture(__file__, "balance")),),
    sync=SYNC,
    expected_items={"charge": 3, "customer": 2},
    errors=(
        ErrorCase(401, Verdict.RECONNECT, {"error": {
            "message": "Invalid API Key provided: rk_test_****0001",
            "type": "invalid_request_error"}}),
        ErrorCase(403, Verdict.RECONNECT, MISSING_BALANCE_READ),
        ErrorCase(429, Verdict.RATE_LIMITED, {"error": {
            "message": "Request rate limit exceeded.", "type": "invalid_request_error",
            "code": "rate_limit"}}, headers={"Stripe-Rate-Limited-Reason": "global-rate"}),
        ErrorCase(500, Verdict.TRY_LATER, {"error": {"type": "api_error",
                                                     "message": "Something went wrong."}}),
    ),
)
