"""Stripe endpoints used here (paths relative to https://api.stripe.com/v1/)."""

# https://docs.stripe.com/api/versioning  (pinned, so answers keep the shapes mapped here)
API_VERSION = "2024-06-20"
# https://docs.stripe.com/api/balance/balance_retrieve  (the test before save)
BALANCE = "balance"
# https://docs.stripe.com/api/charges/list  (starting_after + has_more, created[gte])
CHARGES = "charges"
# https://docs.stripe.com/api/customers/list
CUSTOMERS = "customers"
# https://docs.stripe.com/api/pagination  (limit is 1 to 100)
PAGE_SIZE = 100
