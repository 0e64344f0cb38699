"""Postal addresses from layout: a postcode + city line, the street above it, the country below it.

Used for street / postcode / city / state / country variables, for the seller (default) or the customer
(when the variable's key or context says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fieldstone.extract.fields import Candidate, Context
from fieldstone.extract.layout import BBox, Line, Segment
from fieldstone.extract.normalize import fold, word_set

COUNTRIES: dict[str, str] = {
    "nederland": "NL",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "deutschland": "DE",
    "germany": "DE",
    "allemagne": "DE",
    "duitsland": "DE",
    "france": "FR",
    "frankrijk": "FR",
    "frankreich": "FR",
    "belgie": "BE",
    "belgique": "BE",
    "belgium": "BE",
    "belgien": "BE",
    "luxembourg": "LU",
    "osterreich": "AT",
    "oesterreich": "AT",
    "austria": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "switzerland": "CH",
    "italia": "IT",
    "italy": "IT",
    "espana": "ES",
    "spain": "ES",
    "portugal": "PT",
    "polska": "PL",
    "poland": "PL",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "ireland": "IE",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "u s a": "US",
    "canada": "CA",
    "india": "IN",
    "hong kong": "HK",
    "china": "CN",
    "japan": "JP",
    "australia": "AU",
    "danmark": "DK",
    "denmark": "DK",
    "sverige": "SE",
    "sweden": "SE",
    "norge": "NO",
    "norway": "NO",
    "suomi": "FI",
    "finland": "FI",
    "ceska republika": "CZ",
    "czech republic": "CZ",
}
US_STATES = word_set(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
)

_US = re.compile(r"^(?P<city>[A-Za-z][A-Za-z .'\-]*?),?\s+(?P<state>[A-Z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)\b")
_ZIP_CITY = re.compile(
    r"^(?:(?P<cc>[A-Z]{1,2})-)?"
    r"(?P<zip>(?-i:\d{4}\s?[A-Z]{2})(?=[\s,]|$)|\d{2}-\d{3}|\d{4,5}|(?-i:[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}))"
    r"[\s,]+(?P<city>[^\d,]{2,40}?)(?:\s+(?:cedex)?\s*\d{0,2})?\s*$",
    re.IGNORECASE,
)
_ZIP_ONLY = re.compile(r"^(?P<zip>\d{4}\s?[A-Z]{2}|\d{2}-\d{3}|\d{4,5})$")
_STREET = re.compile(r"^(?=.*[^\W\d_]{2})(?=.*\d).{4,60}$")
# "4557 De Silva St" is a street with its number first, not a postcode and a city.
_STREET_TYPE = re.compile(
    r"\b(st|street|ave|avenue|rd|road|blvd|lane|ln|dr|drive|way|str|strasse|straße|weg|straat|laan|rue|"
    r"avenue|chemin|via|calle|ulica|ul)\.?$",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"\s+[-\u2013|]\s+|,\s*")

SELLER_WORDS = (
    "seller",
    "vendor",
    "supplier",
    "issuer",
    "company",
    "merchant",
    "provider",
    "partner",
    "from",
)
CUSTOMER_WORDS = (
    "customer",
    "buyer",
    "billing",
    "bill to",
    "client",
    "recipient",
    "ship",
    "delivery",
    "purchaser",
    "consignee",
)
CUSTOMER_LABELS = (
    "bill to",
    "billed to",
    "ship to",
    "customer",
    "client",
    "kunde",
    "klant",
    "destinataire",
    "facture a",
    "nabywca",
    "buyer",
    "sold to",
    "invoice to",
    "attn",
    "factuuradres",
    "afleveradres",
    "billing address",
    "shipping address",
    "delivery address",
    "rechnungsadresse",
    "lieferadresse",
    "adresse de facturation",
    "adresse de livraison",
    "rechnungsempfanger",
    "odbiorca",
)


@dataclass(slots=True)
class Address:
    page: int
    y: float
    street: str | None
    zip: str | None
    city: str | None
    state: str | None
    country: str | None
    country_code: str | None
    name: str | None
    boxes: dict[str, BBox]
    customer_side: bool


def _is_zip_city(text: str) -> bool:
    m = _ZIP_CITY.match(text)
    return m is not None and not _STREET_TYPE.search(m.group("city"))


def _country(text: str) -> str | None:
    key = " ".join(re.findall(r"[a-z]+", fold(text)))
    return COUNTRIES.get(key)


def _zip_country(zip_code: str, prefix: str | None) -> str | None:
    if prefix:
        return {"D": "DE", "F": "FR", "B": "BE", "A": "AT", "NL": "NL", "L": "LU", "CH": "CH", "I": "IT"}.get(
            prefix.upper()
        )
    if re.fullmatch(r"\d{4}\s?[A-Z]{2}", zip_code):
        return "NL"  # "3012 CN" is a Dutch postcode format only
    if re.fullmatch(r"\d{2}-\d{3}", zip_code):
        return "PL"
    return None


def _segment_near(lines: list[Line], idx: int, seg: Segment, step: int) -> tuple[Segment, Line] | None:
    """The segment straight above (step=-1) or below (step=+1) a segment, if close."""
    line = lines[idx]
    j = idx + step
    if not 0 <= j < len(lines):
        return None
    other = lines[j]
    gap = (line.y0 - other.y1) if step < 0 else (other.y0 - line.y1)
    if gap > 1.6 * line.height:
        return None
    for cand in other.segments:
        if min(cand.x1, seg.x1) - max(cand.x0, seg.x0) > 0 or abs(cand.x0 - seg.x0) < 6:
            return cand, other
    return None


def _near_customer(lines: list[Line], idx: int, seg: Segment) -> bool:
    for j in range(max(0, idx - 7), idx + 1):
        other = lines[j]
        if lines[idx].y0 - other.y0 > 7 * lines[idx].height:
            continue
        for cand in other.segments:
            overlap = min(cand.x1, seg.x1 + 40) - max(cand.x0, seg.x0 - 40) > 0
            if overlap and any(w in fold(cand.text) for w in CUSTOMER_LABELS):
                return True
    return False


def find_addresses(ctx: Context) -> list[Address]:
    if ctx.addresses is not None:
        return ctx.addresses  # type: ignore[no-any-return]
    found: list[Address] = []
    for page_no, lines in ctx.lines_by_page.items():
        for idx, line in enumerate(lines):
            for seg in line.segments:
                addr = _parse_segment(lines, idx, seg, page_no)
                if addr is not None:
                    found.append(addr)
    ctx.addresses = found
    return found


def _parse_segment(lines: list[Line], idx: int, seg: Segment, page: int) -> Address | None:
    parts = [p.strip() for p in _SPLIT.split(seg.text) if p.strip()]
    boxes: dict[str, BBox] = {}
    street = zip_code = city = state = country = code = name = None
    prefix = None
    for k, part in enumerate(parts):
        us = _US.match(part + (" " + parts[k + 1] if k + 1 < len(parts) else ""))
        if us and us.group("state") in US_STATES and zip_code is None:
            city, state, zip_code, code = us.group("city").strip(), us.group("state"), us.group("zip"), "US"
            street = parts[k - 1] if k > 0 and _STREET.match(parts[k - 1]) else None
            break
        z = _ZIP_ONLY.match(part)
        if z and k + 1 < len(parts) and re.fullmatch(r"[^\W\d_][^\d,]{1,40}", parts[k + 1]):
            zip_code, city = z.group("zip"), parts[k + 1]
            street = parts[k - 1] if k > 0 and _STREET.match(parts[k - 1]) else None
            break
        m = _ZIP_CITY.match(part)
        if m and not re.fullmatch(r"\d{4,5}", part) and not _STREET_TYPE.search(m.group("city")):
            zip_code, city, prefix = m.group("zip"), m.group("city").strip(), m.group("cc")
            street = parts[k - 1] if k > 0 and _STREET.match(parts[k - 1]) else None
            if k > 1 and street:
                name = parts[k - 2]
            break
    if zip_code is None or city is None:
        return None
    boxes["zip"] = boxes["city"] = boxes["state"] = seg.bbox
    if street is not None:
        boxes["street"] = seg.bbox
    else:
        above = _segment_near(lines, idx, seg, -1)
        if above and _STREET.match(above[0].text) and not _is_zip_city(above[0].text):
            street = above[0].text
            boxes["street"] = above[0].bbox
            above2 = _segment_near(lines, idx - 1, above[0], -1)
            if above2:
                name = above2[0].text
    below = _segment_near(lines, idx, seg, +1)
    if below is not None and _country(below[0].text):
        country = below[0].text
        code = _country(below[0].text)
        boxes["country"] = below[0].bbox
    tail = parts[-1] if parts else ""
    if code is None and _country(tail):
        code, country = _country(tail), tail
    code = code or _zip_country(zip_code, prefix)
    boxes.setdefault("country", seg.bbox)
    return Address(
        page,
        seg.bbox[1],
        street,
        zip_code,
        city,
        state,
        country,
        code,
        name,
        boxes,
        _near_customer(lines, idx, seg),
    )


def wants_customer(key: str, context: str) -> bool:
    text = fold(f"{key.replace('_', ' ')} {context}")
    customer = sum(text.count(w) for w in CUSTOMER_WORDS)
    seller = sum(text.count(w) for w in SELLER_WORDS)
    return customer > seller


ADDRESS_PARTS = {"street", "zip", "city", "state", "country", "country_code"}


def address_candidate(
    part: str, key: str, context: str, ctx: Context, vendor: str | None
) -> Candidate | None:
    addresses = find_addresses(ctx)
    if not addresses:
        return None
    customer = wants_customer(key, context)
    vendor_f = fold(vendor) if vendor else None

    def rank(a: Address) -> tuple[int, int, float]:
        named = int(bool(vendor_f and a.name and (vendor_f in fold(a.name) or fold(a.name) in vendor_f)))
        side = int(a.customer_side == customer)
        return (side, named, -(a.page * 10000 + a.y))

    best = max(addresses, key=rank)
    value = getattr(best, part)
    if not value:
        return None  # the chosen block lacks this part: never borrow it from another party's address
    box = best.boxes["country" if part.startswith("country") else part]
    side_ok = best.customer_side == customer
    return Candidate(value, 0.6 if side_ok else 0.35, best.page, box, str(value))
