"""Words the demo CRM builds names, places and subjects from."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    """The comma-separated words of `text`."""
    return tuple(word.strip() for word in text.split(","))


PREFIXES = _words(
    "Northern, Silver, Open, Bright, Green, Blue, Golden, United, First, Coastal, Highland, "
    "Riverside, Summit, Harbor, Oak, Cedar, Maple, Pioneer, Civic, Evergreen, Lakeside, "
    "Union, Heritage, Unity"
)
NOUNS = _words(
    "Light, Hope, Bridge, Path, Hands, Heart, Harvest, Future, Roots, Horizon, Circle, "
    "Garden, Compass, Anchor, Beacon, Meadow, Valley"
)
SUFFIXES = _words(
    "Foundation, Trust, Society, Partners, Group, Fund, Alliance, Network, Collective, "
    "Association, Ltd, GmbH"
)
CITIES = _words(
    "Amsterdam, Berlin, Brussels, Copenhagen, Dublin, Geneva, Hamburg, Lisbon, London, Lyon, "
    "Madrid, Milan, Munich, Oslo, Paris, Prague, Rotterdam, Stockholm, Vienna, Warsaw, Zurich"
)
INDUSTRIES = _words(
    "Education, Healthcare, Environment, Arts, Finance, Retail, Technology, Manufacturing, "
    "Public Sector, Hospitality, Agriculture"
)
FIRST = _words(
    "Anna, Ben, Clara, David, Emma, Felix, Greta, Hugo, Ines, Jonas, Karin, Lars, Maria, "
    "Noah, Olga, Paul, Rosa, Sven, Tara, Umar, Vera, Wim, Yara, Zoe, Ali, Bea, Carl, Dana, "
    "Eli, Fay"
)
LAST = _words(
    "Andersen, Bauer, Costa, Dubois, Eriksen, Fischer, Garcia, Hansen, Ivanova, Jansen, "
    "Keller, Larsen, Meyer, Novak, Olsen, Peeters, Quinn, Rossi, Schmidt, Tanaka, Ueda, "
    "Vogel, Weber, Young, Zimmer"
)
DOMAINS = _words("example.org, mail.example.com, post.example.net, inbox.example.eu")
CURRENCIES = _words("EUR, USD, GBP, CHF")
CURRENCY_WEIGHTS = (0.6, 0.2, 0.15, 0.05)
ACTIVITY_TYPES = _words("email, phonecall, appointment, task, letter")
SUBJECTS = _words(
    "Thank-you call, Annual report sent, Gala invitation, Follow-up meeting, Pledge reminder, "
    "Site visit, Grant application, Newsletter feedback, Volunteer briefing, Board introduction"
)
