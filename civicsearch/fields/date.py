"""The document's date: a sortable key (``datekey``) that ``--since``/``--until`` mask by, date sorting
orders by and the year and month facets count, and a moment a backend without the columns filters by range."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from civicsearch.errors import InvalidArgumentError
from civicsearch.fields.flags import Column, ColumnData, Date, Range
from civicsearch.fields.registry import MetaField, Option, register
from civicsearch.results import FacetValue
from civicsearch.text.normalize import fold

#: The column that sorts by date (undated documents hold 0 and sort last).
COLUMN = "datekey"

_FILTER_DATE = re.compile(
    r"^(?P<y>\d{4})(?:\s*[-/.年]\s*(?P<m>\d{1,2})(?:\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?|\s*月)?|\s*年"
    r"|(?P<cm>\d{2})(?P<cd>\d{2})?)?$"  # or compact: 202306, 20230612
)


def date_bounds(value: str, option: str) -> tuple[datetime, datetime]:
    """The first and last moment of a date given at year, month or day precision
    (``option`` names the argument in an error: ``since`` or ``until``)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"must be a string such as 2023 or 2023-01-04, not {type(value).__name__}",
                                   option)
    m = _FILTER_DATE.match(fold(value.strip()))
    if m is None:
        raise InvalidArgumentError(f"cannot read {value!r} as a date (use YYYY, YYYY-MM or YYYY-MM-DD)", option)
    year, month, day = int(m.group("y")), m.group("m") or m.group("cm"), m.group("d") or m.group("cd")
    if not 1 <= year <= 9999:
        raise InvalidArgumentError(f"the year {m.group('y')} is outside 0001-9999", option)
    try:
        start = datetime(year, int(month or 1), int(day or 1))
    except ValueError:
        raise InvalidArgumentError(f"{value!r} is not a date of the calendar", option) from None
    if day:
        end = start + timedelta(days=1) if start.date() < datetime.max.date() else None
    elif month:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) if (year, int(month)) < (9999, 12) else None
    else:
        end = start.replace(year=year + 1) if year < 9999 else None
    return start, (end - timedelta(microseconds=1)) if end is not None else datetime.max


def single_year(since: str | None, until: str | None) -> int | None:
    """The year a since/until range lies in, when it lies in one (for the month facet)."""
    if not since or not until:
        return None
    start, end = date_bounds(since, "since")[0], date_bounds(until, "until")[1]
    return start.year if start.year == end.year else None


def format_date(value: datetime | None, precision: str | None) -> str | None:
    """ISO date cut to its precision: 2023, 2023-01 or 2023-01-04."""
    if value is None:
        return None
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    return value.date().isoformat()


def _moment(value: datetime) -> int:
    """YYYYMMDDhhmmss of a moment (to the second), comparable with :func:`_earliest`."""
    return ((((value.year * 100 + value.month) * 100 + value.day) * 100 + value.hour) * 100
            + value.minute) * 100 + value.second


def datekey(value: datetime, precision: str | None) -> int:
    """YYYYMMDDhhmmss with unknown parts zero (2023 at year precision: 20230000000000),
    so the month facet counts only documents whose month is known."""
    if precision == "year":
        return value.year * 10**10
    if precision == "month":
        return (value.year * 100 + value.month) * 10**8
    return _moment(value)


def _year(key: Any) -> Any:
    """A date key's year (of an int, or of each of an array's)."""
    return key // 10**10


def _month(key: int) -> int:
    return key // 10**8 % 100


def _extract(doc: Any) -> dict[str, Any] | None:
    if doc.date is None:
        return None
    return {"value": doc.date, "precision": doc.date_precision, "source": doc.date_source}


def _index(v: dict[str, Any]) -> dict[str, Any]:
    return {"date": v["value"], COLUMN: datekey(v["value"], v["precision"])}


def _text(v: dict[str, Any]) -> str | None:
    return format_date(v["value"], v["precision"])


def _earliest(key: int) -> int:
    """A date key's first moment: 2023 at year precision is 2023-01-01 00:00:00, as it is indexed."""
    month, day = key // 10**8 % 100 or 1, key // 10**6 % 100 or 1
    return ((_year(key) * 100 + month) * 100 + day) * 10**6 + key % 10**6


def _bounds(given: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The first moment of since and the last of until (None where one is not given)."""
    since, until = given.get("since"), given.get("until")
    start = date_bounds(since, "since")[0] if since else None
    end = date_bounds(until, "until")[1] if until else None
    if start is not None and end is not None and start > end:
        raise InvalidArgumentError(f"{since!r} is after the end of the range (until {until!r})", "since")
    return start, end


def _filter(given: dict[str, Any]) -> Range:
    """Documents dated in the range, by the date field (which holds a date's first moment)."""
    return Range("date", *_bounds(given))


def _mask(given: dict[str, Any], columns: ColumnData) -> np.ndarray:
    """Documents dated from since's first moment to until's last (undated ones never),
    from the date key column."""
    first, last = _bounds(given)
    start = _moment(first) if first is not None else None
    end = _moment(last) if last is not None else None
    return columns.where(COLUMN, lambda key: bool(key) and (start is None or _earliest(key) >= start)
                         and (end is None or _earliest(key) <= end))


def _facets(keys: Counter, given: dict[str, Any]) -> dict[str, list[FacetValue]]:
    # Each distinct date key among the matches (thousands on a common word) into its year, at once.
    found, at = np.unique(_year(np.fromiter(keys, dtype=np.int64, count=len(keys))), return_inverse=True)
    held = np.bincount(at, weights=np.fromiter(keys.values(), dtype=np.float64, count=len(keys)), minlength=len(found))
    years = {str(y): int(n) for y, n in zip(found.tolist(), held.tolist())}
    out = {"year": [FacetValue(y, y, c) for y, c in sorted(years.items(), reverse=True)]}
    year = single_year(given.get("since"), given.get("until"))
    if year is not None:
        months: Counter[str] = Counter()
        for v, n in keys.items():
            if _year(v) == year and _month(v):
                months[f"{year}-{_month(v):02d}"] += n
        out["month"] = [FacetValue(m, m, c) for m, c in sorted(months.items())]
    return out


FIELD = register(MetaField(
    name="date",
    label="date",
    order=10,
    extract=_extract,
    schema={"date": Date(), COLUMN: Column("int64", default=0, granularity=10**8)},  # facets: year, month
    index=_index,
    output=lambda v: {"date": _text(v), "date_source": v["source"]},
    keys={"date": None, "date_source": None},
    options=(Option("since", "Only documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD)."),
             Option("until", "Only documents dated on or before (YYYY, YYYY-MM or YYYY-MM-DD).")),
    filter=_filter,
    mask=_mask,
    column=COLUMN,
    facets=_facets,
    facet_names=("year", "month"),
    brief=_text,
    detail=lambda v: f"{_text(v)} (from {v['source']})",
))
