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
    A key that contains the term, or whose words all appear in it ("zvap" in "zvap durres"),
    ranks before keys that are merely similar: the clerk typed part of the real name.
    """
    wanted = fold(term)
    if not wanted:
        return []
    words = set(wanted.split())
    ranked: list[tuple[bool, float, str]] = []
    for key, shown in candidates.items():
        contained = bool(key) and (wanted in key or set(key.split()) <= words)
        similarity = difflib.SequenceMatcher(None, wanted, key).ratio()
        if contained or similarity >= 0.5:
            ranked.append((contained, similarity, shown))
    ranked.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    seen: list[str] = []
    for _, _, shown in ranked:
        if shown not in seen:
            seen.append(shown)
    return seen[:limit]
