"""Case- and diacritic-insensitive matching of Albanian names and text.

Stored text keeps its diacritics exactly; `fold()` is applied only to build the comparison
keys kept beside names (``*_folded`` columns) and to the terms users search with.
"""

import difflib
import unicodedata

_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "–": "-", "—": "-"})


def fold(text: str) -> str:
    """Return `text` lower-cased, without diacritics, with runs of whitespace made one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def like_pattern(term: str) -> str:
    """Return a LIKE pattern matching folded text that contains the folded `term` literally."""
    escaped = fold(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def closest(term: str, candidates: dict[str, str], *, limit: int = 3) -> list[str]:
    """Return up to `limit` display names whose folded key is closest to the folded `term`.

    `candidates` maps a folded key (a name or an abbreviation) to the name shown to users.
    """
    keys = difflib.get_close_matches(fold(term), list(candidates), n=limit * 2, cutoff=0.5)
    term_folded = fold(term)
    keys += [k for k in candidates if term_folded and (term_folded in k or k in term_folded)]
    seen: list[str] = []
    for key in keys:
        shown = candidates[key]
        if shown not in seen:
            seen.append(shown)
    return seen[:limit]
