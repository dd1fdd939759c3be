"""How precise the collector's masking is, measured on text nobody here wrote.

    .venv/bin/python -m scripts.masking_corpus           # print the figures
    .venv/bin/python -m scripts.masking_corpus --write   # and write docs/masking.md

- **Prose**: every English sentence of the docstrings, package descriptions and Python's
  own reference topics that the environment `requirements.lock` installs ships (thousands,
  rich in "basic", "bearer", "key", "token", "secret", "password"), sent through the real
  collector under `full` and `redacted`: how many arrive altered (goal: none).
- **Credentials**: each provider's documented format (OpenRouter, OpenAI, Anthropic, GitHub,
  AWS, Slack, JWTs, Basic and Bearer headers), random values of that shape in the contexts
  they leak from (a header line, an environment line, JSON, a sentence), sent as an
  attribute, a status message and an event: how many arrive (goal: none).
- **Card numbers** under `redacted`: random numbers of each network's documented prefixes
  and lengths with a valid Luhn digit, written whole, in groups and in JSON: how many arrive
  (goal: none).
- **Random ids** of 13 to 19 digits under `redacted`: how many are taken for card numbers
  (those that begin like a card and pass the Luhn check, about 4.5%, cannot be told apart).
"""

from __future__ import annotations

import argparse
import ast
import base64
import email
import random
import re
import string
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRIGGER_WORDS = "basic, bearer, key, token, secret, password or auth"
TRIGGERS = re.compile(r"\b(basic|bearer|key|token|secret|password|auth)", re.IGNORECASE)
# A prose sentence: words, numbers and ordinary punctuation; no code, no addresses.
PROSE = re.compile(r"[A-Z][A-Za-z0-9 ,;:'()\"/.!?-]+[.!?]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
NOT_PROSE = re.compile(r"^\s*(>>>|\.\.|:\w|[-*+] |\d+[.)] |\$ )", re.MULTILINE)


DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def site_packages() -> Path:
    """The site-packages of the interpreter running this (the lock's environment)."""
    return Path(next(p for p in sys.path if p.endswith("site-packages")))


def documents(site: Path) -> Iterator[str]:
    """Docstrings of every module, class and function installed, package descriptions, and
    the reference topics Python ships (pydoc_data)."""
    for path in sorted(site.rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, DOCUMENTED) and (docstring := ast.get_docstring(node, clean=True)):
                yield docstring
    for path in sorted(site.glob("*.dist-info/METADATA")):
        body = email.message_from_string(path.read_text(errors="replace")).get_payload()
        if isinstance(body, str):
            yield body
    from pydoc_data.topics import topics

    yield from (topics[name] for name in sorted(topics))


def sentences(texts: Iterable[str]) -> list[str]:
    """The distinct prose sentences of `texts` (5 to 60 words), sorted."""
    found = set()
    for text in texts:
        for paragraph in re.split(r"\n\s*\n", text):
            if NOT_PROSE.search(paragraph):
                continue
            for sentence in SENTENCE_END.split(re.sub(r"\s+", " ", paragraph).strip()):
                if 5 <= len(sentence.split()) <= 60 and PROSE.fullmatch(sentence):
                    found.add(sentence)
    return sorted(found)


def prose_corpus() -> list[str]:
    return sentences(documents(site_packages()))


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"


def _jwt(rng: random.Random) -> str:
    def part(document: str) -> str:
        return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")

    header = part('{"alg":"HS256","typ":"JWT"}')
    claims = part(f'{{"sub":"{rng.randrange(10**9)}","iat":{rng.randrange(10**10)}}}')
    return f"{header}.{claims}.{_token(rng, URLSAFE, 43)}"


def _basic(rng: random.Random) -> str:
    user = _token(rng, string.ascii_lowercase, rng.randint(3, 12))
    password = _token(rng, ALNUM + "!#%&*", rng.randint(6, 24))
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# (provider and format, where documented; a secret of that shape). Each secret is what must
# never arrive; the shapes are the providers' own.
def secrets_of_each_format(rng: random.Random) -> list[tuple[str, str]]:
    return [
        # OpenRouter API keys: sk-or-v1- and 64 hex digits.
        ("OpenRouter key", "sk-or-v1-" + _token(rng, "0123456789abcdef", 64)),
        # OpenAI: project, service-account and admin keys, and the legacy 48-character key
        # with its T3BlbkFJ marker.
        ("OpenAI project key", "sk-proj-" + _token(rng, URLSAFE, 156)),
        ("OpenAI service account key", "sk-svcacct-" + _token(rng, URLSAFE, 156)),
        ("OpenAI admin key", "sk-admin-" + _token(rng, URLSAFE, 156)),
        (
            "OpenAI legacy key",
            "sk-" + _token(rng, ALNUM, 20) + "T3BlbkFJ" + _token(rng, ALNUM, 20),
        ),
        # Anthropic: sk-ant-api03-... and admin keys sk-ant-admin01-...
        ("Anthropic key", "sk-ant-api03-" + _token(rng, URLSAFE, 93) + "AA"),
        ("Anthropic admin key", "sk-ant-admin01-" + _token(rng, URLSAFE, 93) + "AA"),
        # GitHub: ghp_ / gho_ / ghu_ / ghs_ / ghr_ and 36 characters; fine-grained github_pat_.
        *[(f"GitHub {p} token", f"{p}_" + _token(rng, ALNUM, 36)) for p in ("ghp", "gho", "ghs")],
        (
            "GitHub fine-grained token",
            "github_pat_" + _token(rng, ALNUM, 22) + "_" + _token(rng, ALNUM, 59),
        ),
        # AWS access key ids (AKIA long-term, ASIA temporary): 16 of A-Z2-7.
        ("AWS access key id", "AKIA" + _token(rng, string.ascii_uppercase + "234567", 16)),
        ("AWS temporary key id", "ASIA" + _token(rng, string.ascii_uppercase + "234567", 16)),
        # Slack: bot, user and app-level tokens.
        (
            "Slack bot token",
            f"xoxb-{rng.randrange(10**12)}-{rng.randrange(10**12)}-" + _token(rng, ALNUM, 24),
        ),
        (
            "Slack user token",
            f"xoxp-{rng.randrange(10**12)}-{rng.randrange(10**12)}-" + _token(rng, ALNUM, 32),
        ),
        (
            "Slack app token",
            f"xapp-1-A{rng.randrange(10**10)}-{rng.randrange(10**13)}-"
            + _token(rng, "0123456789abcdef", 64),
        ),
        ("JWT", _jwt(rng)),
    ]


def credential_corpus(seed: int = 20261205, rounds: int = 8) -> list[tuple[str, str, str]]:
    """(kind, text as it leaks, the secret that must not arrive), `rounds` random values of
    each format in each context."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(rounds):
        for kind, secret in secrets_of_each_format(rng):
            corpus += [
                (kind, f"api_key={secret}", secret),
                (kind, f'{{"token": "{secret}", "scope": "read"}}', secret),
                (kind, f"I pasted {secret} into the chat, sorry.", secret),
            ]
        aws_secret = _token(rng, ALNUM + "/+", 40)
        corpus += [
            ("AWS secret access key", f"aws_secret_access_key = {aws_secret}", aws_secret),
            ("AWS secret access key", f"AWS_SECRET_ACCESS_KEY={aws_secret}", aws_secret),
            ("AWS secret access key", f'"SecretAccessKey": "{aws_secret}"', aws_secret),
        ]
        basic, bearer = _basic(rng), _token(rng, URLSAFE + ".~+/", rng.randint(20, 64))
        for scheme, secret in (("Basic", basic), ("Bearer", bearer), ("Bearer", _jwt(rng))):
            for spelling in (scheme, scheme.lower(), scheme.upper()):
                corpus += [
                    (f"{scheme} header", f"Authorization: {spelling} {secret}", secret),
                    (f"{scheme} header", f"curl -H 'Authorization: {spelling} {secret}'", secret),
                ]
    return corpus


# Prefixes and lengths of each network's numbers (ISO/IEC 7812 issuer identification numbers
# as the networks publish them).
CARD_NETWORKS = (
    ("Visa", ("4",), (13, 16, 19)),
    ("Mastercard", ("51", "55", "2221", "2720"), (16,)),
    ("American Express", ("34", "37"), (15,)),
    ("Discover", ("6011", "644", "65"), (16, 19)),
    ("JCB", ("3528", "3589"), (16, 19)),
    ("Diners Club", ("36", "300", "38"), (14, 16)),
    ("UnionPay", ("62",), (16, 19)),
)


def luhn_digit(partial: str) -> str:
    """The check digit that makes `partial` + it pass the Luhn check."""
    total = 0
    for i, char in enumerate(reversed(partial)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


def card_corpus(seed: int = 4111, rounds: int = 12) -> list[tuple[str, str, str]]:
    """(network, text as it leaks, the digits that must not arrive)."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(rounds):
        for network, prefixes, lengths in CARD_NETWORKS:
            prefix, length = rng.choice(prefixes), rng.choice(lengths)
            body = prefix + "".join(
                rng.choice(string.digits) for _ in range(length - 1 - len(prefix))
            )
            number = body + luhn_digit(body)
            spaced = " ".join(number[i : i + 4] for i in range(0, length, 4))
            dashed = spaced.replace(" ", "-")
            corpus += [
                (network, f"my card is {number}, expiry 09/29", number),
                (network, f"Card: {spaced}.", spaced),
                (network, f'{{"card_number": "{dashed}", "cvc": "123"}}', dashed),
            ]
    return corpus


def random_ids(seed: int = 7, count: int = 2000) -> list[str]:
    """Ids of 13 to 19 random digits, as orders, invoices and traces carry them."""
    rng = random.Random(seed)
    return [
        "".join(rng.choice(string.digits) for _ in range(rng.randint(13, 19))) for _ in range(count)
    ]


PER_SPAN = 100  # texts per span, one attribute each


def through_collector(policy: str, texts: list[str], workdir: Path) -> list[str]:
    """`texts` as they arrive in OpenObserve (the emulator) through the real collector under
    `policy`: each in an attribute of an app's span that is not a GenAI span (so only
    masking, and `redacted`'s personal data, apply), in order."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from openrouter_openobserve.collector_process import Collector, wait_for
    from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator

    chunks = [texts[i : i + PER_SPAN] for i in range(0, len(texts), PER_SPAN)]
    with OpenObserveEmulator() as emulator:
        settings = {
            "OPENOBSERVE_URL": emulator.url,
            "OPENOBSERVE_ORG": "acme",
            "OPENOBSERVE_AUTH_TOKEN": emulator.ingest_token,
            "CONTENT_POLICY": policy,
        }
        collector = Collector(workdir, settings).start()
        try:
            provider = TracerProvider()
            exporter = OTLPSpanExporter(endpoint=collector.otlp_grpc_endpoint, insecure=True)
            provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=64))
            tracer = provider.get_tracer("masking-corpus")
            for number, chunk in enumerate(chunks):
                attributes = {f"text.{i}": text for i, text in enumerate(chunk)}
                tracer.start_span(f"chunk {number}", attributes=attributes).end()
            provider.shutdown()
            rows = wait_for(
                lambda: len(r := emulator.rows("default", org="acme")) >= len(chunks) and r,
                timeout_s=120,
                what="the corpus spans",
            )
        finally:
            collector.stop()
    by_chunk = {int(row["operation_name"].split()[1]): row for row in rows}
    return [
        by_chunk[number][f"text_{i}"]
        for number, chunk in enumerate(chunks)
        for i in range(len(chunk))
    ]


def figure(corpus: str, policy: str, items: int, bad: int) -> dict[str, Any]:
    return {"corpus": corpus, "policy": policy, "items": items, "bad": bad}


def measure(
    prose: list[str],
    credentials: list[tuple[str, str, str]],
    cards: list[tuple[str, str, str]],
    ids: list[str],
    workdir: Path,
) -> dict[str, Any]:
    """Each corpus through the collector under the policies it concerns."""
    rows, examples = [], []
    rich = [sentence for sentence in prose if TRIGGERS.search(sentence)]
    for policy in ("full", "redacted"):
        arrived = through_collector(policy, prose, workdir / f"prose-{policy}")
        altered = [(a, b) for a, b in zip(prose, arrived, strict=True) if a != b]
        rows.append(figure("prose sentences", policy, len(prose), len(altered)))
        rich_altered = sum(1 for sentence, _ in altered if TRIGGERS.search(sentence))
        rows.append(figure(f"... of which {TRIGGER_WORDS}", policy, len(rich), rich_altered))
        examples += [f"prose under {policy}: `{b}` (sent: `{a}`)" for a, b in altered[:10]]
    texts = [text for _, text, _ in credentials]
    for policy in ("metadata", "full", "redacted"):
        arrived = through_collector(policy, texts, workdir / f"credentials-{policy}")
        leaked = [
            (kind, text)
            for (kind, _, secret), text in zip(credentials, arrived, strict=True)
            if secret in text
        ]
        rows.append(figure("credentials (leaked)", policy, len(credentials), len(leaked)))
        examples += [f"{kind} under {policy}: `{text}`" for kind, text in leaked[:10]]
    arrived = through_collector("redacted", [text for _, text, _ in cards], workdir / "cards")
    leaked = [
        (network, text)
        for (network, _, number), text in zip(cards, arrived, strict=True)
        if number in text
    ]
    rows.append(figure("card numbers (leaked)", "redacted", len(cards), len(leaked)))
    examples += [f"{network} card under redacted: `{text}`" for network, text in leaked[:10]]
    arrived = through_collector("redacted", ids, workdir / "ids")
    masked = sum(1 for a, b in zip(ids, arrived, strict=True) if a != b)
    rows.append(figure("random 13-19 digit ids (taken for cards)", "redacted", len(ids), masked))
    return {"rows": rows, "examples": examples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write docs/masking.md")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as workdir:
        figures = measure(
            prose_corpus(), credential_corpus(), card_corpus(), random_ids(), Path(workdir)
        )
    report = render(figures)
    print(report)
    if args.write:
        (ROOT / "docs" / "masking.md").write_text(report)


def render(figures: dict[str, Any]) -> str:
    lines = [
        "# Masking precision",
        "",
        "Measured by `.venv/bin/python -m scripts.masking_corpus --write` (the corpora and how",
        "they are made: `scripts/masking_corpus.py`), through the real collector.",
        "",
        "| corpus | policy | items | altered, leaked or taken | share |",
        "|---|---|---|---|---|",
    ]
    for row in figures["rows"]:
        share = row["bad"] / row["items"] if row["items"] else 0.0
        lines.append(
            f"| {row['corpus']} | {row['policy']} | {row['items']:,} | {row['bad']:,} |"
            f" {share:.2%} |"
        )
    if figures["examples"]:
        lines += ["", "Altered prose and leaked credentials, as the collector left them:", ""]
        lines += [f"- {example}" for example in figures["examples"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
