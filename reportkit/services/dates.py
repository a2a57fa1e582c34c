"""Times as people write them, read into UTC: calendars, digits, zones, and whether a post could have that time.

A time string may be Gregorian or Solar Hijri (the Iranian calendar, "1403/03/08 10:30"), in Latin, Persian
(۰-۹) or Arabic-Indic (٠-٩) digits, with or without a zone. `parse_time` returns the UTC instant and a sentence
saying how it was read ("1403/03/08 10:30 (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC"), so a preview
can show the conversion instead of storing a silently wrong year.

`plausibility_problem` says when a post's time cannot be right: in the future, or before its platform existed
(`FOUNDED`). Every way in (entry form, API, import) asks it.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import jdatetime
from dateutil import parser as dateparser

from ..platforms import OTHER, REGISTRY, label

CALENDARS = {"auto": "Detect (years 1300–1499 are Solar Hijri)", "gregorian": "Gregorian",
             "solar_hijri": "Solar Hijri (Iranian calendar)"}
CALENDAR_NAMES = {"gregorian": "Gregorian", "solar_hijri": "Solar Hijri"}

# The earliest day a post on each platform can carry (UTC), from the registry: a floor, so a real post is
# never refused.
FOUNDED = {key: platform.founded for key, platform in REGISTRY.items()}
FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks differ a little; more than this is a wrong time or zone

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩يك", "01234567890123456789یک")  # and Arabic yeh, kaf
# Persian and Arabic separators that appear in dates typed on Persian keyboards: ٫ (decimal), ، (comma).
_SEPARATORS = str.maketrans({"٫": "/", "،": ",", "\u200c": " ", "\u200f": "", "\u200e": ""})
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?"
_YMD = re.compile(r"(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})" + _TIME)
_DMY = re.compile(r"(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})" + _TIME)
_LEADING_YEAR = re.compile(r"\D*?(\d{4})\b")
# Solar Hijri month names, in Persian and as they are written in Latin letters: "۸ خرداد ۱۴۰۳ - ۱۰:۳۰",
# "8 Khordad 1403". A date written with one is Solar Hijri whatever the chosen calendar.
SOLAR_MONTHS = (("فروردین", "farvardin"), ("اردیبهشت", "ordibehesht"), ("خرداد", "khordad"), ("تیر", "tir"),
                ("مرداد", "امرداد", "mordad", "amordad"), ("شهریور", "shahrivar"), ("مهر", "mehr"),
                ("آبان", "aban"), ("آذر", "azar"), ("دی", "dey", "dei"), ("بهمن", "bahman"), ("اسفند", "esfand"))
_MONTH_NUMBER = {name: n for n, names in enumerate(SOLAR_MONTHS, start=1) for name in names}
_NAMED = re.compile(r"(?:.*?\s)?(\d{1,2})\s+(" + "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True)) +
                    r")\s+(\d{4})(?:\s*(?:[-–,،]|ساعت|at)\s*)*(.*)", re.IGNORECASE)
_TRAILING_YEAR = re.compile(r"\d{1,2}[/\-.]\d{1,2}[/\-.](\d{4})\b")


class DateError(ValueError):
    """A time that cannot be read, said in words a person can act on."""


@dataclass(frozen=True)
class ParsedTime:
    utc: datetime  # aware, UTC
    calendar: str  # "gregorian" | "solar_hijri"
    description: str  # how it was read: "1403/03/08 10:30 (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC"

    @property
    def converted(self) -> bool:
        """Worth showing: another calendar or another zone than UTC was read."""
        return not self.description.endswith("(UTC) → " + utc_text(self.utc))


def normalise_digits(value: str) -> str:
    """Persian and Arabic-Indic digits to Latin ones, and the separators of Persian keyboards to ASCII."""
    return value.translate(_DIGITS).translate(_SEPARATORS)


def zone_named(name: str | None) -> ZoneInfo:
    """An IANA zone by name ("Asia/Tehran"); DateError for anything else."""
    name = (name or "UTC").strip()
    if name not in valid_zones():
        raise DateError(f"Unknown time zone “{name[:64]}”: use a name such as UTC, Asia/Tehran or Europe/Berlin.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateError(f"Unknown time zone “{name[:64]}”.") from exc


_ZONES: frozenset[str] | None = None


def valid_zones() -> frozenset[str]:
    global _ZONES  # noqa: PLW0603 - read once: the list comes from the installed tz database
    if _ZONES is None:
        _ZONES = frozenset(available_timezones() | {"UTC"})
    return _ZONES


def zone_label(zone: tzinfo, at: datetime | None = None) -> str:
    """"Tehran time (UTC+03:30)", "UTC": the zone as a person recognises it, with its offset at `at` (now)."""
    key = getattr(zone, "key", None) or str(zone)
    if key in ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"):
        return "UTC"
    return f"{zone_city(zone)} time (UTC{offset_text(zone, at)})"


def zone_city(zone: tzinfo) -> str:
    key = getattr(zone, "key", None) or str(zone)
    return key if key.startswith("Etc/") else key.rsplit("/", 1)[-1].replace("_", " ")


def offset_text(zone: tzinfo, at: datetime | None = None) -> str:
    offset = (at or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_time(value: str, calendar: str = "auto", zone: tzinfo = UTC) -> ParsedTime | None:
    """Read a time string; None when it is empty. A time without a zone is read in `zone`.

    `calendar` is "gregorian", "solar_hijri" or "auto". The rule of "auto": a date whose year is 1300 to 1499
    is Solar Hijri (1300 SH is 1921 CE, 1499 SH is 2120 CE; no post has a Gregorian year in that range), any
    other year is Gregorian. A date written with a Solar Hijri month's name ("۸ خرداد ۱۴۰۳", "8 Khordad 1403")
    is Solar Hijri whatever the calendar, and ten-digit numbers are Unix seconds whatever the calendar.
    """
    if calendar not in CALENDARS:
        raise DateError(f"Unknown calendar “{str(calendar)[:40]}”: choose one of {', '.join(CALENDARS)}.")
    shown = " ".join(str(value).split())
    text = normalise_digits(shown)
    if not text:
        return None
    if re.fullmatch(r"\d{10}(\.\d+)?", text):  # Unix seconds
        instant = datetime.fromtimestamp(float(text), tz=UTC)
        return ParsedTime(instant, "gregorian", f"{shown} (Unix time) → {utc_text(instant)}")
    named = _named_month(text)
    if named:
        text, calendar = named, "solar_hijri"  # the month's name says the calendar
    if calendar == "auto":
        calendar = "solar_hijri" if 1300 <= (_year(text) or 0) <= 1499 else "gregorian"
    try:
        local, explicit = (_solar_hijri if calendar == "solar_hijri" else _gregorian)(text, shown)
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
        instant = local.astimezone(UTC)
    except DateError:
        raise
    except (ValueError, OverflowError) as exc:  # an offset past 24 h, a year past 9999 once converted
        raise DateError(f"The date “{shown[:80]}” cannot be read: its year or its zone offset is out of range.") \
            from exc
    where = "zone as written" if explicit else getattr(zone, "key", None) or str(zone)
    label = ", ".join(x for x in (CALENDAR_NAMES[calendar] if calendar == "solar_hijri" else "", where) if x)
    return ParsedTime(instant, calendar, f"{shown} ({label}) → {utc_text(instant)}")


def _named_month(text: str) -> str | None:
    """"۸ خرداد ۱۴۰۳ - ۱۰:۳۰" (digits already Latin) as "1403/3/8 10:30"; None without a Solar month's name."""
    found = _NAMED.fullmatch(text.strip())
    if not found:
        return None
    day, month, year, rest = found.groups()
    return f"{year}/{_MONTH_NUMBER[month.lower()]}/{day} {rest}".strip()


def _year(text: str) -> int | None:
    found = _TRAILING_YEAR.match(text) or _LEADING_YEAR.match(text)
    return int(found.group(1)) if found else None


def _solar_hijri(text: str, shown: str) -> tuple[datetime, bool]:
    """"1403/03/08 10:30", "1403-3-8", "08/03/1403 10:30:15 +03:30" (month names are read by `_named_month`)."""
    found = _YMD.fullmatch(text.strip())
    if found:
        year, month, day = (int(found.group(i)) for i in (1, 2, 3))
    else:
        found = _DMY.fullmatch(text.strip())
        if not found:
            raise DateError(f"The Solar Hijri date “{shown[:80]}” cannot be read: write it as year/month/day "
                            "and an optional hour:minute, e.g. 1403/03/08 10:30.")
        day, month, year = (int(found.group(i)) for i in (1, 2, 3))
    hour, minute, second = (int(found.group(i) or 0) for i in (4, 5, 6))
    try:
        gregorian = jdatetime.datetime(year, month, day, hour, minute, second).togregorian()
    except ValueError as exc:
        raise DateError(f"“{shown[:80]}” is not a Solar Hijri date ({exc}).") from exc
    offset = found.group(7)
    if offset:
        return gregorian.replace(tzinfo=_offset(offset)), True
    return gregorian, False


def _offset(text: str) -> tzinfo:
    if text in ("Z", "UTC"):
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(delta if text[0] == "+" else -delta)


def _gregorian(text: str, shown: str) -> tuple[datetime, bool]:
    """Common formats; numeric dates with the year last are read day first (31/12/2024), as most of the world
    writes them."""
    try:
        parsed = dateparser.parse(text, dayfirst=bool(re.match(r"\d{1,2}[./]\d{1,2}[./]\d{4}", text)))
    except (ValueError, OverflowError) as exc:
        raise DateError(f"The date “{shown[:80]}” cannot be read.") from exc
    return parsed, parsed.tzinfo is not None


def plausibility_problem(when: datetime | None, platform: str, now: datetime | None = None) -> str | None:
    """Why a post on `platform` cannot have been posted at `when`, or None."""
    if when is None:
        return None
    now = now or datetime.now(UTC)
    if when > now + FUTURE_TOLERANCE:
        return f"{utc_text(when)} is in the future: check the date and its time zone."
    founded = FOUNDED.get(platform, FOUNDED[OTHER])
    if when.astimezone(UTC).date() < founded:
        name = label(platform) if platform != OTHER else "the web"
        hint = " Is it a Solar Hijri date?" if when.year < 1700 else ""
        return f"{when.astimezone(UTC):%Y-%m-%d} is before {name} existed ({founded:%Y-%m-%d}).{hint}"
    return None


def disagreement(typed: datetime | None, derived: datetime | None, tolerance: timedelta = timedelta(seconds=60)
                 ) -> timedelta | None:
    """How far a typed time is from the time in the post id, when more than `tolerance`; else None."""
    if typed is None or derived is None:
        return None
    gap = abs(typed - derived)
    return gap if gap > tolerance else None


def gap_text(gap: timedelta) -> str:
    seconds = int(gap.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    return " ".join(parts) or f"{seconds} s"


def id_time_warning(typed: datetime | None, derived: datetime | None, zone: tzinfo = UTC) -> str:
    """The warning when a typed post time disagrees (by more than a minute) with the time in the post id, or "";
    times said in `zone` (the reader's), with the zone named."""
    gap = disagreement(typed, derived)
    if gap is None:
        return ""
    return (f"The typed time {zone_text(typed, zone)} differs from the time in the post id "
            f"({zone_text(derived, zone)}) by {gap_text(gap)}: the id's time is kept unless a person confirms "
            "that the typed time is right.")


def zone_text(value: datetime, zone: tzinfo = UTC, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """"2024-05-28 10:30 Tehran (UTC+03:30)", or "2024-05-28 07:00 UTC"."""
    if zone_label(zone) == "UTC":
        return value.astimezone(UTC).strftime(fmt + " UTC")
    return f"{value.astimezone(zone).strftime(fmt)} {zone_city(zone)} (UTC{offset_text(zone, value)})"
