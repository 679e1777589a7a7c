"""Site time zones: IANA names checked against the time-zone database, local wall times.

Storage and computation stay in UTC (:mod:`exoneb.core.clock`); a site's zone
only turns "the next day at 10:00" into an instant, and an instant back into
what the staff of that site read on their wall clock. Pure stdlib
(:mod:`zoneinfo`), so pure rules may use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TIME_ZONE", "local_instant", "local_label", "site_zone"]

DEFAULT_TIME_ZONE = "UTC"
"""The zone of a site when nobody said otherwise (``EXONEB_SITE_TIME_ZONE``)."""


def site_zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (IANA, e.g. ``Europe/London``); ValueError naming it if unknown.

    Abbreviations (``BST``, ``EST``) and offsets (``+01:00``) are refused: they
    do not say when daylight saving time starts and ends, so the next-day call
    would drift by an hour twice a year.
    """
    text = (name or "").strip()
    if not text or text != name or text.startswith("/") or ".." in text:
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. 'Europe/London', 'UTC').")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"Unknown time zone {name!r}: use an IANA name such as 'Europe/London', "
            "'America/New_York' or 'UTC' (not an abbreviation like 'BST' or an offset)."
        ) from exc


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the clocks of ``zone`` show ``wall`` on ``day``.

    On a daylight-saving change the answer is still one instant, chosen by a
    fixed rule rather than by chance:

    * a wall time that does not exist (the clocks jump over it in spring) is
      moved forward by the jump — 01:30 on the day London goes from 01:00 GMT
      to 02:00 BST is 02:30 BST (01:30 UTC);
    * a wall time that happens twice (the clocks go back in autumn) is the
      first of the two — 01:30 on the day London goes back is 01:30 BST
      (00:30 UTC), not 01:30 GMT an hour later.

    Both follow from :pep:`495` ``fold=0`` (the offset in force before the
    change), which is what :mod:`zoneinfo` gives.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=zone).astimezone(UTC)


def local_label(at: datetime, zone: ZoneInfo) -> str:
    """``at`` as the site reads it, with the zone: ``2026-03-30 10:00 BST``."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
