"""How many SQL queries one API request costs, to show a list's cost does not grow."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of(client, url: str) -> int:
    """Measured on a second request: the first records the token's last use, once a minute."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)
