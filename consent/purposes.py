"""The purposes a person can allow their connected data to be used for.

Adding a purpose is one entry here; every toggle, check and page reads this list.
"""

from dataclasses import dataclass

MATCHING = "matching"
COMMUNITY_RECOMMENDATION = "community_recommendation"
DASHBOARD = "dashboard"


@dataclass(frozen=True)
class Purpose:
    slug: str
    name: str
    description: str


PURPOSES: dict[str, Purpose] = {
    p.slug: p
    for p in (
        Purpose(
            MATCHING,
            "Matching",
            "Suggest people who share your interests. Other members never see the raw "
            "data, only that you have interests in common.",
        ),
        Purpose(
            COMMUNITY_RECOMMENDATION,
            "Community recommendations",
            "Recommend groups, events and discussions that fit what you read, watch and "
            "listen to.",
        ),
        Purpose(
            DASHBOARD,
            "Your dashboard",
            "Show figures from your work tools (payments, email statistics) on your own "
            "dashboard. Only you see them; they are never used for matching or recommendations.",
        ),
    )
}


def get_purpose(slug: str) -> Purpose:
    """Return the purpose, raising KeyError for an unknown slug."""
    return PURPOSES[slug]
