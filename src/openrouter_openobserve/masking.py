"""What the collector masks, as (RE2 pattern, replacement) pairs for OTTL's replace functions:
credentials under every content policy, e-mail addresses under `redacted`.

Two rules keep masking cheap and prose intact:
- every pattern starts with a literal (`sk-or-`, `ghp_`, `Bearer`, ...), so Go's regexp jumps
  between occurrences with a substring search instead of stepping through every character;
  case variants of a scheme are patterns of their own, because `(?i)` would lose that
  literal, and each keeps its own spelling in the replacement;
- a credential after a scheme word must look like one: a token of its alphabet with a digit
  in it (at least 8 characters after Basic, 12 after Bearer), or base64 padding, or two
  changes from a lower-case letter to a capital (random text has them, words rarely do), or
  20 letters. Words ("a Basic overview of bearer bonds", "basic input/output", "Bearer
  authentication.") are prose and pass unchanged.

Provider formats follow each provider's documentation: OpenRouter `sk-or-v1-`, OpenAI
`sk-proj-`/`sk-svcacct-`/`sk-admin-` and the legacy key with its `T3BlbkFJ` marker,
Anthropic `sk-ant-`, GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and `github_pat_`, AWS access
key ids (`AKIA`, `ASIA`) and secret access keys where they are named, Slack `xox?-` and
`xapp-` tokens and webhook URLs, JWTs. `scripts/masking_corpus.py` measures both sides.
"""

from __future__ import annotations

LETTERS = "A-Za-z"


def with_a_digit(alphabet: str, minimum: int) -> str:
    """At least `minimum` characters of `alphabet` (a character class body) with a digit
    among them: the first digit at position i < minimum - 1 is followed by at least
    minimum - 1 - i more characters; a later one, by any number."""
    before = alphabet.replace("0-9", "")
    early = [
        f"[{before}]{{{i}}}[0-9][{alphabet}]{{{minimum - 1 - i},}}" for i in range(minimum - 1)
    ]
    late = f"[{before}]{{{minimum - 1},}}[0-9][{alphabet}]*"
    return "|".join([*early, late])


def credential(symbols: str, minimum: int, padding: str) -> str:
    """A token of letters, digits and `symbols` that is not a word, then `padding`."""
    alphabet = f"{LETTERS}0-9{symbols}"
    humps = f"[{alphabet}]*[a-z][A-Z][{alphabet}]*[a-z][A-Z][{alphabet}]*"
    shapes = [with_a_digit(alphabet, minimum), humps, f"[{LETTERS}]{{20,}}"]
    return f"(?:{'|'.join(shapes)}){padding}|[{alphabet}]{{{minimum - 1},}}="


# RFC 6750's token68 for Bearer; base64 for Basic (RFC 7617).
BEARER_TOKEN = credential("._~+/-", 12, "=*")
BASIC_CREDENTIALS = credential("+/", 8, "={0,2}")


def scheme(word: str, token: str) -> list[tuple[str, str]]:
    """`word` and its credential, in each spelling headers and logs use, kept as written."""
    return [
        (f"{spelling}[[:blank:]]+(?:{token})", f"{spelling} ***")
        for spelling in (word, word.lower(), word.upper())
    ]


def named(name: str, value: str) -> tuple[str, str]:
    """A secret that is recognised by the name written before it (`name = value`,
    `"name": "value"`): the name stays, the value goes."""
    return (f"({name}[\"']?[[:blank:]]*[:=][[:blank:]]*[\"']?){value}", "${1}***")


# One pattern per literal its matches start with: formats that share it share a pattern and
# keep their prefix (`${1}`), so that a value is scanned once per literal.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    ("(sk-(?:or|proj|svcacct|admin|ant-[a-z]+[0-9]*)-)[A-Za-z0-9_-]{8,}", "${1}***"),
    ("sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", "sk-***"),
    ("(gh[pousr]_|github_pat_)[A-Za-z0-9_]{22,}", "${1}***"),
    ("(A[KS]IA)[0-9A-Z]{16}", "${1}***"),
    *(
        named(name, "[A-Za-z0-9/+]{40}")
        for name in ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "SecretAccessKey")
    ),
    ("(xox[abposr]-|xapp-[0-9]+-)[A-Za-z0-9-]{10,}", "${1}***"),
    ("hooks[.]slack[.]com/services/[A-Za-z0-9/]{20,}", "hooks.slack.com/services/***"),
    ("eyJ[A-Za-z0-9_-]{8,}[.]eyJ[A-Za-z0-9_-]{8,}[.][A-Za-z0-9_-]*", "eyJ***"),
    *scheme("Bearer", BEARER_TOKEN),
    *scheme("Basic", BASIC_CREDENTIALS),
)

# Card numbers are masked by the collector's cardmask processor (collector/cardmaskprocessor),
# which checks the Luhn digit that no pattern can.
PERSONAL_DATA_PATTERNS: tuple[tuple[str, str], ...] = (
    ("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+[.][A-Za-z]{2,}", "<email>"),
)
