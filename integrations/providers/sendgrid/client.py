"""SendGrid endpoints used here (paths relative to https://api.sendgrid.com/)."""

# https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access
SCOPES = "v3/scopes"
REQUIRED_SCOPE = "stats.read"
# https://www.twilio.com/docs/sendgrid/api-reference/stats/retrieve-global-email-statistics
# (start_date required, end_date defaults to today, both YYYY-MM-DD)
STATS = "v3/stats"
