"""Redaction as every service applies it: personal data in the forms speech-to-text writes it
becomes a typed placeholder, ordinary numbers stay, words follow the text (timings kept, the
original not readable from them), and a policy that cannot be used is refused with a sentence."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts.internal import SegmentIn, WordIn
from shared.contracts.redaction import MAX_TERMS, RedactionKind, RedactionPatch, RedactionPolicy, clean_terms, stored_policy
from shared.redaction import redact_segment, redactor_for

pytestmark = [pytest.mark.unit]

ALL = redactor_for(RedactionPolicy(enabled=True, terms=["Project Falcon", "Okonkwo", "张三"]))


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        # E-mail addresses, written and spoken.
        ("Email me at john.smith@example.com please.", "Email me at [email] please."),
        ("Send it to J_Doe+notes@mail.example.co.uk, thanks.", "Send it to [email], thanks."),
        ("It's john dot smith at example dot com.", "It's [email]."),
        ("Write to jane underscore doe at acme dot io", "Write to [email]"),
        ("reach me at jane at gmail.com", "reach me at [email]"),
        ("my address is bob at outlook dot com", "my address is [email]"),
        ("My email is John.smith at Edmanple.com", "My email is [email]"),
        ("My email address is john.smithatgmail.com", "My email address is [email]"),
        ("My email address is dot dot smith email dot com.", "My email address is [email]."),
        # Phone numbers, with and without a country code, in the forms Whisper writes them.
        ("Call me at 555-123-4567 tomorrow.", "Call me at [phone] tomorrow."),
        ("My number is (415) 555-0132.", "My number is [phone]."),
        ("It's 415 555 0132, after six.", "It's [phone], after six."),
        ("Ring +44 20 7946 0958 please", "Ring [phone] please"),
        ("The London office is 020 7946 0958.", "The London office is [phone]."),
        ("Call 1-800-555-0199 for support", "Call [phone] for support"),
        ("dial 555.123.4567", "dial [phone]"),
        ("Please call me at 400-155-155-0132 tomorrow.", "Please call me at [phone] tomorrow."),
        ("My phone number is 555-123-4000-567.", "My phone number is [phone]."),
        ("My number is 22550187.", "My number is [phone]."),
        ("+86 138 0013 8000 is his mobile", "[phone] is his mobile"),
        ("reach Hans on +49 30 901820", "reach Hans on [phone]"),
        # Card numbers (Luhn).
        ("Card 4111 1111 1111 1111 expires in May", "Card [card] expires in May"),
        ("the card number is 5500-0000-0000-0004.", "the card number is [card]."),
        ("use 378282246310005", "use [card]"),
        # Account numbers: IBANs and digits after "account" and the like.
        ("My IBAN is GB82 WEST 1234 5698 7654 32.", "My IBAN is [account]."),
        ("pay DE89370400440532013000 today", "pay [account] today"),
        ("account number 12345678", "account number [account]"),
        ("The account number is 12-345-678.", "The account number is [account]."),
        ("sort code 12-34-56 and account 87654321", "sort code [account] and account [account]"),
        ("routing number: 021000021", "routing number: [account]"),
        # The user's terms: whole words and phrases, ignoring case; anywhere in CJK text.
        ("Project falcon ships with Mr Okonkwo.", "[redacted] ships with Mr [redacted]."),
        ("PROJECT   FALCON is late", "[redacted] is late"),
        ("我和张三说了", "我和[redacted]说了"),
    ],
)
def test_personal_data_becomes_a_placeholder(said: str, kept: str) -> None:
    assert ALL.redact(said) == kept


@pytest.mark.parametrize(
    "said",
    [
        "In 2024 we had 1,234,567 users.",
        "Let's meet at 10:30 on 12/05/2024.",
        "The release is 2024-06-11 and the sprint 2024-06-25.",
        "Meeting at the gmail.com office, say at 3.",
        "We upgraded to version 3.11.2 last week.",
        "About 2 to 3 people joined, maybe 4 or 5.",
        "It costs $1,500,000 over 3 years.",
        "Order 12345678 shipped on the 4th.",
        "The order number is 12345678 and the invoice number is 87654321.",
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
        "The slides are at docs.example.com and the notes at wiki.example.org.",
        "Let's meet at google dot com headquarters.",
        "The build 20240611.3 failed at 4111 tests.",
        "Project Falconry is another team; okonkwos is not a word.",
        "Our account manager has 12 accounts.",
        "[email] and [phone] stay as they are.",
    ],
)
def test_ordinary_text_and_numbers_are_left_alone(said: str) -> None:
    assert ALL.redact(said) == said


def test_only_the_kinds_asked_for_are_hidden_and_off_hides_nothing() -> None:
    said = "Mail jo@example.com or call 555-123-4567, card 4111 1111 1111 1111, about Okonkwo."
    phones = redactor_for(RedactionPolicy(enabled=True, kinds=[RedactionKind.phone]))
    assert phones.redact(said) == "Mail jo@example.com or call [phone], card 4111 1111 1111 1111, about Okonkwo."
    terms_only = redactor_for(RedactionPolicy(enabled=True, kinds=[], terms=["okonkwo"]))
    assert terms_only.redact(said) == said.replace("Okonkwo", "[redacted]")
    assert redactor_for(RedactionPolicy(enabled=False, terms=["okonkwo"])).redact(said) == said
    assert redactor_for(None).redact(said) == said
    # A term that names a placeholder does not eat placeholders.
    assert (
        redactor_for(RedactionPolicy(enabled=True, terms=["email", "redacted"])).redact("email jo@example.com")
        == "[redacted] [email]"
    )


def test_words_follow_the_text_and_keep_the_spans_timing() -> None:
    said = "Call me at 555-123-4567 or john dot smith at example dot com, Okonkwo."
    words = [WordIn(text=" " + w, start_ms=100 * n, end_ms=100 * n + 80, prob=0.9) for n, w in enumerate(said.split())]
    segment = SegmentIn(segment_id="s1", start_ms=0, end_ms=1500, text=said, words=words)
    out = redact_segment(ALL, segment)
    assert out.text == "Call me at [phone] or [email], [redacted]."
    assert [w.text for w in out.words] == [" Call", " me", " at", " [phone]", " or", " [email],", " [redacted]."]
    email = out.words[5]
    assert (email.start_ms, email.end_ms, email.prob) == (500, 1180, None)  # "john" … "com,"
    assert out.words[0] == words[0]
    stored = out.model_dump_json()
    for secret in ("555", "4567", "john", "smith", "example", "Okonkwo"):
        assert secret not in stored


def test_words_that_do_not_match_the_text_are_redacted_on_their_own() -> None:
    """Text and words written differently (a number as digits in one, grouped in the other):
    the words are redacted by the same rule on their own text."""
    words = [WordIn(text=w, start_ms=n * 100, end_ms=n * 100 + 90) for n, w in enumerate(["call", "415", "555", "0132", "now"])]
    segment = SegmentIn(segment_id="s", start_ms=0, end_ms=500, text="Call (415) 555-0132 now.", words=words)
    out = redact_segment(ALL, segment)
    assert out.text == "Call [phone] now."
    assert [(w.text, w.start_ms, w.end_ms) for w in out.words] == [("call", 0, 90), ("[phone]", 100, 390), ("now", 400, 490)]


def test_a_segment_with_nothing_to_hide_is_the_same_object() -> None:
    segment = SegmentIn(
        segment_id="s", start_ms=0, end_ms=500, text="Nothing here.", words=[WordIn(text="Nothing", start_ms=0, end_ms=10)]
    )
    assert redact_segment(ALL, segment) is segment


@pytest.mark.parametrize(
    ("partial", "shown"),
    [
        ("call me at 555-123", "call me at […]"),
        ("my card is 4111 1111", "my card is […]"),
        ("it's john dot smith at exam", "it's […]"),
        ("mail j.smith@exa", "mail […]"),
        ("my email address is john dot smith", "my email address is […]"),
        ("my email is john.smith at", "my email is […] at"),
        ("version 3.11 is out, 2.5 percent", "version 3.11 is out, 2.5 percent"),
        ("in 2024 we had 3 people", "in 2024 we had 3 people"),
        ("Please call me at 4155.", "Please call me at […]."),
        ("we had 12 people in 2024", "we had 12 people in […]"),
        ("call me at 555-123-4567 now", "call me at [phone] now"),
    ],
)
def test_a_partial_hides_what_may_become_personal_data(partial: str, shown: str) -> None:
    assert ALL.redact_partial(partial) == shown


def test_policies_are_checked_with_sentences() -> None:
    class Body(BaseModel):
        redaction: RedactionPolicy

    assert RedactionPolicy().kinds == ["email", "phone", "card", "account"] and not RedactionPolicy().active
    assert RedactionPolicy.model_validate({"kinds": ["phone", "email", "phone"]}).kinds == ["email", "phone"]
    assert clean_terms(["  Okonkwo ", "okonkwo", "", "Project\tFalcon"]) == ["Okonkwo", "Project Falcon"]
    for policy, sentence in (
        ({"kinds": ["email", "ssn"]}, "'ssn' is not something redaction can find: choose from email, phone, card and account."),
        ({"terms": ["x"] * (MAX_TERMS + 1)}, None),
        ({"terms": [f"t{n}" for n in range(MAX_TERMS + 1)]}, "The redaction list has 101 terms: keep it to 100 or fewer."),
        ({"terms": ["ok", "a" * 65]}, "Redaction term 2 ('aaaaaaaaaaaaaaaaaaaaa…') is 65 characters long"),
        ({"terms": ["--"]}, "Redaction term 1 ('--') has no letters or digits."),
    ):
        if sentence is None:
            assert Body.model_validate({"redaction": policy}).redaction.terms == ["x"]
            continue
        with pytest.raises(ValidationError) as caught:
            Body.model_validate({"redaction": policy})
        assert sentence in caught.value.errors()[0]["msg"]
    patched = RedactionPatch(terms=["Falcon"]).applied_to(RedactionPolicy(enabled=True, kinds=[RedactionKind.email]))
    assert patched == RedactionPolicy(enabled=True, kinds=[RedactionKind.email], terms=["Falcon"])


@pytest.mark.parametrize("text", ["a dot " * 3300, "a.b." * 4900, "12-" * 6600, "x dot y at " * 1800, "a@" * 9000, "1 2 " * 4900])
def test_the_longest_segment_takes_linear_time_whatever_it_holds(text: str) -> None:
    """A segment of 20,000 characters (SegmentIn's limit) shaped against the patterns: every
    repetition in them is bounded, so it takes about a second at worst (12 s before the bounds)."""
    started = time.perf_counter()
    ALL.redact(text[:20000])
    ALL.redact_partial(text[:20000])
    assert time.perf_counter() - started < 5.0


def test_a_stored_policy_that_no_longer_reads_hides_every_kind() -> None:
    assert stored_policy(None) == stored_policy({}) == RedactionPolicy()
    assert stored_policy({"enabled": True, "kinds": ["phone"]}).kinds == [RedactionKind.phone]
    assert stored_policy({"enabled": False, "kinds": ["ssn"]}) == RedactionPolicy(enabled=True)
