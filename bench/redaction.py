"""Redaction benchmark: precision and recall per kind of the redactor (``shared.redaction``) on
sentences as speech-to-text writes them, and its time per segment.

Three sets of sentences, each with what should be hidden marked as ``{kind:text}``:
- ``OBSERVED``: what Whisper base wrote for espeak-ng speech of such sentences through this
  project's STT settings (beam 5, no previous-text conditioning), garbled forms included, in
  the live end-to-end test and in a probe of three voices;
- ``HELD_OUT``: sentences written after the rules were settled, scored once as they are;
- ``WRITTEN``: the forms Whisper writes for people reading out numbers and addresses (digits
  grouped with dashes or spaces, "+44", "dot com", "at gmail.com"), and ordinary sentences full of
  numbers (years, times, amounts, counts, versions, ids) that must be left alone.

A marked span counts as found when a redacted span of the same kind overlaps it (recall); a
redacted span counts as right when it overlaps a marked span of its kind (precision)."""

from __future__ import annotations

import re
import time
from typing import Any

from bench.common import pct, write_results
from shared.contracts.redaction import PLACEHOLDERS, TERM_PLACEHOLDER, RedactionPolicy
from shared.redaction import redactor_for

TERMS = ["Project Falcon", "Okonkwo", "Brightwell Labs"]
KINDS = ["email", "phone", "card", "account", "term"]

OBSERVED = [
    "Please call me at {phone:415-555-0132} tomorrow.",
    "Please call me at {phone:415-555-051-32} tomorrow.",
    "Please call me at {phone:455-155-0132} tomorrow.",
    "Please call me at {phone:400-155-155-0132} tomorrow.",
    "My phone number is {phone:555-123-4000-567}.",
    "My number is {phone:212 5550187}",
    "My number is {phone:22550187}.",
    "My email address is {email:dot dot Smith at gmail dot com}",
    "My email address is {email:John dot Smith at email dot com}.",
    "My email address is {email:John.Smith at gmail.com}.",
    "My email address is {email:john.smithatgmail.com}",
    "My email is {email:John.smith at Edmanple.com}",
    "My email address is {email:dot dot smith email dot com}.",
    "You can email me at {email:marcatiapo.com}",
    "e-mail me at {email:john.smithadventil.com}",
]
WRITTEN = [
    # E-mail addresses.
    "Email me at {email:john.smith@example.com} please.",
    "Send it to {email:j_doe+notes@mail.example.co.uk}, thanks.",
    "It's {email:john dot smith at example dot com}.",
    "Write to {email:jane underscore doe at acme dot io}.",
    "Reach me at {email:jane at gmail.com}.",
    "My address is {email:bob at outlook dot com}.",
    "The invoice goes to {email:billing@brightwell.io} and {email:ap@brightwell.io}.",
    "Contact {email:maria.garcia at yahoo.com} for the keys.",
    "You can write to {email:support at intrascribe dot dev}.",
    "His work address is {email:t.nguyen@corp.example.org}.",
    # Phone numbers.
    "Call me at {phone:555-123-4567} tomorrow.",
    "My number is {phone:(415) 555-0132}.",
    "It's {phone:415 555 0132}, after six.",
    "Ring {phone:+44 20 7946 0958} please.",
    "The London office is {phone:020 7946 0958}.",
    "Call {phone:1-800-555-0199} for support.",
    "Dial {phone:555.123.4567} and ask for Sam.",
    "{phone:+86 138 0013 8000} is his mobile.",
    "Reach Hans on {phone:+49 30 901820}.",
    "Her mobile is {phone:07700 900123}.",
    "Text {phone:+1 212 555 0187} when you land.",
    "The hotline is {phone:0800 123 4567}.",
    # Card numbers.
    "Card {card:4111 1111 1111 1111} expires in May.",
    "The card number is {card:5500-0000-0000-0004}.",
    "Use {card:378282246310005} for the booking.",
    "My Visa is {card:4012 8888 8888 1881}, expiry 09 28.",
    "Charge it to {card:6011 1111 1111 1117}.",
    # Account numbers.
    "My IBAN is {account:GB82 WEST 1234 5698 7654 32}.",
    "Pay {account:DE89370400440532013000} today.",
    "The account number is {account:12345678}.",
    "Account number {account:12-345-678}, sort code {account:12-34-56}.",
    "Routing number: {account:021000021}.",
    "Our account is {account:00123456789} at the local branch.",
    "The IBAN is {account:FR14 2004 1010 0505 0001 3M02 606}.",
    # The user's terms.
    "{term:Project Falcon} ships with {term:Okonkwo} in March.",
    "{term:PROJECT FALCON} is late again.",
    "We signed {term:Brightwell Labs} last week.",
    # Ordinary numbers and text: nothing to hide.
    "In 2024 we had 1,234,567 users.",
    "Let's meet at 10:30 on 12/05/2024.",
    "We upgraded to version 3.11.2 last week.",
    "About 2 to 3 people joined, maybe 4 or 5.",
    "It costs $1,500,000 over 3 years.",
    "Order 12345678 shipped on the 4th.",
    "Call 911 if anything happens.",
    "The ticket is 20231105 in Jira.",
    "We grew 15 percent to 3400 units in 2023 and 2024.",
    "Room 1204 at 3 pm, zip code 94107.",
    "Revenue was 4500000 dollars.",
    "Between 2019 2020 2021 2022 it doubled.",
    "We need 100 200 or 300 servers.",
    "ISO 27001 and SOC 2 are done.",
    "PR 12345 and issue 6789 are merged, ports 8080 and 5432.",
    "Look at example.com for the docs.",
    "The slides are at docs.example.com.",
    "The release is 2024-06-11 and the sprint ends 2024-06-25.",
    "Our account manager has 12 accounts.",
    "Project Falconry is another team.",
    "We sold 12 345 units at 19.99 each.",
    "The build 20240611.3 failed at 4111 tests.",
    "Latency went from 250 to 180 milliseconds at p95.",
    "Chapter 7, page 1234, line 56.",
]

# Written after the redactor's rules were settled and run once as they are (never tuned on).
HELD_OUT = [
    "Drop a line to {email:priya.raman@fabrikam.com} when it's merged.",
    "My personal one is {email:dave underscore k at hotmail dot com}.",
    "Copy {email:legal at contoso dot org} on the contract.",
    "Forward it to {email:ops-team@northwind.example}, not to me.",
    "Her address is {email:lisa dot wong at proton dot me}.",
    "You can call me on {phone:07911 123456} any time.",
    "The Paris number is {phone:+33 1 42 68 53 00}.",
    "Call the front desk at {phone:(212) 736-5000}.",
    "My cell is {phone:650-253-0000}, leave a message.",
    "Dial {phone:+91 98765 43210} for the Bangalore team.",
    "My phone number is {phone:three one two, five five five, zero one nine nine}.",
    "The Mastercard ends up being {card:5105 1051 0510 5100}.",
    "Put it on {card:4242-4242-4242-4242} please.",
    "The Amex is {card:3714 496353 98431}.",
    "Wire it to {account:NL91 ABNA 0417 1643 00}.",
    "My checking account number is {account:4567 8901 23}.",
    "The account ending in 4821 is the old one.",
    "{term:Okonkwo} will brief {term:Brightwell Labs} on {term:Project Falcon}.",
    "Tickets 4521, 4522 and 4523 are blocked on the 3.2 release.",
    "We booked 120 rooms at 89 dollars for 3 nights from March 14.",
    "The survey had 1,024 answers, 73 percent positive.",
    "Flight BA 2490 leaves at 18:45 from gate 32.",
    "Our SLA is 99.95 percent, about 21 minutes a month.",
    "The meeting ID is 845 2231 9087.",
    "Build number 4411 0021 9983 passed.",
]
MARK = re.compile(r"\{(\w+):([^}]*)\}")
PLACEHOLDER_KIND = {**{p: k.value for k, p in PLACEHOLDERS.items()}, TERM_PLACEHOLDER: "term"}


def parse(marked: str) -> tuple[str, list[tuple[str, int, int]]]:
    """The plain sentence and its marked spans (kind, start, end)."""
    text, spans, at = "", [], 0
    for m in MARK.finditer(marked):
        text += marked[at : m.start()]
        spans.append((m.group(1), len(text), len(text) + len(m.group(2))))
        text += m.group(2)
        at = m.end()
    return text + marked[at:], spans


def score(sentences: list[str]) -> dict[str, Any]:
    redactor = redactor_for(RedactionPolicy(enabled=True, terms=TERMS))
    counts: dict[str, dict[str, Any]] = {k: {"marked": 0, "found": 0, "redacted": 0, "right": 0} for k in KINDS}
    missed: list[str] = []
    wrong: list[str] = []
    for marked in sentences:
        text, expected = parse(marked)
        got = [(PLACEHOLDER_KIND[s.placeholder], s.start, s.end) for s in redactor.spans(text)]
        for kind, start, end in expected:
            counts[kind]["marked"] += 1
            if any(k == kind and s < end and start < e for k, s, e in got):
                counts[kind]["found"] += 1
            else:
                missed.append(f"{kind}: {text[start:end]!r} in {text!r}")
        for kind, start, end in got:
            counts[kind]["redacted"] += 1
            if any(k == kind and s < end and start < e for k, s, e in expected):
                counts[kind]["right"] += 1
            else:
                wrong.append(f"{kind}: {text[start:end]!r} in {text!r}")
    for c in counts.values():
        c["recall"] = round(c["found"] / c["marked"], 3) if c["marked"] else None
        c["precision"] = round(c["right"] / c["redacted"], 3) if c["redacted"] else None
    return {"kinds": counts, "missed": missed, "wrongly_redacted": wrong}


def timing(sentences: list[str], rounds: int = 20) -> dict[str, float]:
    """Microseconds per segment for the redactor (every kind and 3 terms) on these sentences,
    and for a segment with 20 words (text and words)."""
    from shared.contracts.internal import SegmentIn, WordIn
    from shared.redaction import redact_segment

    redactor = redactor_for(RedactionPolicy(enabled=True, terms=TERMS))
    texts = [parse(s)[0] for s in sentences]
    per_text: list[float] = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            redactor.redact(text)
            per_text.append((time.perf_counter() - started) * 1e6)
    said = "so as I said please call me at 415 555 0132 or write to john dot smith at example dot com before Friday"
    words = [WordIn(text=" " + w, start_ms=n * 300, end_ms=n * 300 + 250) for n, w in enumerate(said.split())]
    segment = SegmentIn(segment_id="s", start_ms=0, end_ms=len(words) * 300, text=said, words=words)
    per_segment: list[float] = []
    for _ in range(rounds * 10):
        started = time.perf_counter()
        redact_segment(redactor, segment)
        per_segment.append((time.perf_counter() - started) * 1e6)
    return {
        "sentence_p50_us": pct(per_text, 50),
        "sentence_p95_us": pct(per_text, 95),
        "segment_20_words_p50_us": pct(per_segment, 50),
        "segment_20_words_p95_us": pct(per_segment, 95),
    }


def main() -> None:
    results: dict[str, Any] = {
        "observed": score(OBSERVED),
        "held_out": score(HELD_OUT),
        "written": score(WRITTEN),
        "timing": timing(OBSERVED + HELD_OUT + WRITTEN),
        "terms": TERMS,
    }
    table = []
    sets = (
        ("Whisper base output (espeak speech)", "observed"),
        ("held out (written after the rules)", "held_out"),
        ("forms Whisper writes (the unit tests' kind)", "written"),
    )
    for name, key in sets:
        for kind in KINDS:
            c = results[key]["kinds"][kind]
            if not c["marked"] and not c["redacted"]:
                continue
            recall = f"{c['found']}/{c['marked']} ({c['recall']:.0%})" if c["marked"] else "–"
            precision = f"{c['right']}/{c['redacted']} ({c['precision']:.0%})" if c["redacted"] else "–"
            table.append((name, kind, recall, precision))
    t = results["timing"]
    table.append(
        ("time per sentence, p50 / p95", "all kinds + 3 terms", f"{t['sentence_p50_us']:.0f} / {t['sentence_p95_us']:.0f} µs", "")
    )
    table.append(
        (
            "time per 20-word segment with words, p50 / p95",
            "",
            f"{t['segment_20_words_p50_us']:.0f} / {t['segment_20_words_p95_us']:.0f} µs",
            "",
        )
    )
    write_results("redaction", results, table, ("sentences", "kind", "recall (found / marked)", "precision (right / redacted)"))


if __name__ == "__main__":
    main()
