"""What the collector masks, as (RE2 pattern, replacement) pairs for OTTL's replace functions:
credentials under every content policy, personal data under `redacted`.

Two rules keep masking cheap and prose intact:
- every pattern starts with a literal (`sk-or-`, `Bearer`, ...), so Go's regexp jumps between
  occurrences with a substring search instead of stepping through every character; case
  variants of a scheme are patterns of their own, because `(?i)` would lose that literal;
- a credential after a scheme word must look like one: at least 8 characters of its
  alphabet with a digit or a symbol in them, or 20 letters, or base64 padding. Words of
  letters ("a Basic overview of bearer bonds") are prose and pass unchanged.
"""

from __future__ import annotations

LETTERS = "A-Za-z"


def credential(symbols: str, padding: str) -> str:
    """A token of letters, digits and `symbols` (at least 8) that is not a plain word,
    then `padding`: the first digit or symbol at position i < 7 is followed by at least
    7 - i more characters; later, by any number."""
    marks = f"[0-9{symbols}]"
    token = f"[{LETTERS}0-9{symbols}]"
    early = [f"[{LETTERS}]{{{i}}}{marks}{token}{{{7 - i},}}" for i in range(7)]
    late = f"[{LETTERS}]{{7,}}{marks}{token}*"
    return f"(?:{'|'.join([*early, late, f'[{LETTERS}]{{20,}}', f'[{LETTERS}]{{8,}}='])}){padding}"


# RFC 6750's token68 for Bearer; base64 for Basic (RFC 7617).
BEARER_TOKEN = credential("._~+/-", "=*")
BASIC_CREDENTIALS = credential("+/", "={0,2}")


def scheme(word: str, token: str) -> list[tuple[str, str]]:
    """`word` and its credential, as the word is written in headers and logs."""
    return [
        (f"{spelling}[[:blank:]]+{token}", f"{word} ***")
        for spelling in (word, word.lower(), word.upper())
    ]


SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    ("sk-or-[A-Za-z0-9_-]{8,}", "sk-or-***"),
    *scheme("Bearer", BEARER_TOKEN),
    *scheme("Basic", BASIC_CREDENTIALS),
)

PERSONAL_DATA_PATTERNS: tuple[tuple[str, str], ...] = (
    ("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+[.][A-Za-z]{2,}", "<email>"),
    # Card numbers begin with 3 to 6 (Amex, Visa, Mastercard, Discover, ...): nanosecond
    # timestamps (17... today) and most ids of 13-19 digits pass.
    ("\\b[3-6](?:[ -]?[0-9]){12,18}\\b", "<card-number>"),
)
