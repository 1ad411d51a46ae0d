"""The sandbox: a fake music service (OAuth 2 server + data API) served under /sandbox/."""
