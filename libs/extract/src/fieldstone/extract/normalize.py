"""Text normalisation shared by label matching and value parsing."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case, strip accents and compatibility forms: 'Numéro' -> 'numero', 'ﬁ' -> 'fi'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # A few letters do not decompose but are commonly written without their mark.
    return stripped.casefold().translate(_EXTRA_FOLD)


_EXTRA_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "\u0131": "i", "ß": "ss"})


def tokens(text: str) -> list[str]:
    """Folded alphanumeric tokens: punctuation and symbols separate tokens and are dropped."""
    return _TOKEN.findall(fold(text))


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Tokens with their character span in ``text``.

    Folding can change lengths ('ß' -> 'ss'), so tokens are found per original character run.
    """
    out: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(text):
        folded = fold(match.group())
        if folded:
            out.append((folded, match.start(), match.end()))
    return out


def key_words(key: str) -> str:
    """'invoiceNumber' / 'invoice_number' / 'invoice-number' -> 'invoice number'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return " ".join(tokens(spaced.replace("_", " ")))


def collapse_ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string (keeps long word tables compact)."""
    return frozenset(text.split())
