"""Reply trimming: accuracy on the public corpora, plus the rules it relies on.

The corpus tests print their figures (visible without ``-s``) and fail when accuracy
drops below a floor set a little under what the trimmer achieves today.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.trim_bench import corpora_dir, discourse_cases, score, talon_cases
from mailsup.inbound.reading.html_text import SEPARATOR, html_to_text
from mailsup.inbound.reading.trim import split, strip_signature, trim

# Achieved when written: Discourse 64/64, talon 20/23 (misses: iPhone and Sparrow keep
# their signatures upstream, and the <hr> fixture also drops the sender's "Bob").
DISCOURSE_FLOOR = 62
TALON_FLOOR = 19


@pytest.fixture(scope="module")
def corpora() -> Path:
    root = corpora_dir()
    if not root.is_dir():
        pytest.skip(f"corpora directory absent: {root} (set MAILSUP_CORPORA)")
    return root


def _report(capsys: pytest.CaptureFixture[str], label: str, ok: int, total: int,
            failed: list[str]) -> None:
    with capsys.disabled():
        print(f"\n[trim] {label}: {ok}/{total} ({ok / total:.1%}); failing: {failed or 'none'}")


def test_discourse_corpus_accuracy(corpora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = discourse_cases(corpora)
    assert len(cases) == 64
    ok, failed = score(cases)
    _report(capsys, "discourse email_reply_trimmer", ok, len(cases), failed)
    assert ok >= DISCOURSE_FLOOR, failed


def test_talon_corpus_accuracy(corpora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = talon_cases(corpora)
    assert len(cases) == 23
    ok, failed = score(cases)
    _report(capsys, "talon (12 eml + 11 html)", ok, len(cases), failed)
    assert ok >= TALON_FLOOR, failed


def test_talon_signature_probe(corpora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Informational: talon's ML signature fixtures mostly lack a "-- " line."""
    base = corpora / "talon-signatures"
    names = sorted(f.stem for f in (base / "emails").glob("*.txt"))
    ok = sum(
        trim((base / "emails" / f"{n}.txt").read_text(encoding="utf-8"))
        == (base / "trimmed" / f"{n}.txt").read_text(encoding="utf-8").strip()
        for n in names
    )
    with capsys.disabled():
        print(f"\n[trim] talon-signatures probe: {ok}/{len(names)} (not asserted)")


# --------------------------------------------------------------------------
# Attributions ("On … wrote:") in the languages and layouts clients produce

ATTRIBUTIONS = {
    "gmail": "On Mon, Jun 3, 2024 at 9:00 AM Sup Bot <sup@example.com> wrote:",
    "gmail wrapped 2": "On Mon, Jun 3, 2024 at 9:00 AM Sup Bot <\nsup@example.com> wrote:",
    "gmail wrapped 3": "On Mon, Jun 3, 2024 at 9:00 AM A Long Name via\nmailsup <sup@example.com>\n"
    "wrote:",
    "apple": "On 3 Jun 2024, at 09:00, Sup Bot <sup@example.com> wrote:",
    "thunderbird": "On 03.06.2024 09:00, Sup Bot wrote:",
    "german": "Am 03.06.2024 um 09:00 schrieb Sup Bot <sup@example.com>:",
    "german google": "Sup Bot <sup@example.com> schrieb am Mo., 3. Juni 2024\num 09:00 Uhr:",
    "french": "Le lun. 3 juin 2024 à 09:00, Sup Bot <sup@example.com> a écrit :",
    "french wrapped": "Le 3 juin 2024 09:00, \"Sup Bot\"\n<sup@example.com>\na écrit :",
    "spanish": "El lun, 3 jun 2024 a las 9:00, Sup Bot (<sup@example.com>) escribió:",
    "dutch": "Op ma 3 jun. 2024 om 09:00 schreef Sup Bot <sup@example.com>:",
    "dutch apple": "Op 3 jun. 2024 om 09:00 heeft Sup Bot <sup@example.com> het volgende "
    "geschreven:",
    "italian": "Il giorno lun 3 giu 2024 alle ore 09:00 Sup Bot <sup@example.com> ha scritto:",
    "portuguese": "Em seg., 3 de jun. de 2024 às 09:00, Sup Bot <sup@example.com> escreveu:",
    "swedish": "Den mån 3 juni 2024 kl 09:00 skrev Sup Bot <sup@example.com>:",
    "polish": "W dniu 3.06.2024 o 09:00, Sup Bot <sup@example.com> napisał(a):",
    "russian": "3 июня 2024 г. в 9:00 пользователь Sup Bot <sup@example.com> написал:",
    "chinese": "在 2024年6月3日，上午9:00，Sup Bot <sup@example.com> 写道：",
    "yandex": "03.06.2024, 09:00, \"Sup Bot\" <sup@example.com>:",
    "gmail iso date": "2024-06-03 9:00 GMT+02:00 Sup Bot <sup@example.com>:",
    "zoho": "---- On Mon, 03 Jun 2024 09:00:00 +0200 Sup Bot <sup@example.com> wrote ----",
}


@pytest.mark.parametrize("attribution", ATTRIBUTIONS.values(), ids=ATTRIBUTIONS.keys())
def test_attribution_and_quote_are_cut(attribution: str) -> None:
    body = f"plan: api#130\n\n{attribution}\n\n> Since my last SUP\n> - api#120\n"
    kept, elided = split(body)
    assert kept == "plan: api#130"
    assert "Since my last SUP" in elided


@pytest.mark.parametrize("attribution", ATTRIBUTIONS.values(), ids=ATTRIBUTIONS.keys())
def test_attribution_followed_by_unquoted_original_is_cut(attribution: str) -> None:
    assert trim(f"Thanks!\n\n{attribution}\n\nThe original text.\n") == "Thanks!"


# --------------------------------------------------------------------------
# Header blocks and delimiters

HEADER_BLOCKS = {
    "outlook": "From: Sup Bot <sup@example.com>\nSent: Monday, June 3, 2024 9:00 AM\n"
    "To: Dev <dev@example.com>\nSubject: [SUP 42] Daily stand-up",
    "outlook bold": "*From:* Sup Bot\n*Sent:* 2024-06-03\n*To:* dev@example.com\n*Subject:* SUP",
    "outlook mac": "From: Sup Bot <sup@example.com>\nReply-To: <sup+t@example.com>\n"
    "Date: Monday, 3 June 2024 at 09:00\nTo: Dev\nSubject: SUP",
    "german": "Von: Sup Bot <sup@example.com>\nGesendet: Montag, 3. Juni 2024 09:00\n"
    "An: Dev\nBetreff: SUP",
    "french": "De : Sup Bot <sup@example.com>\nEnvoyé : lundi 3 juin 2024 09:00\nÀ : Dev\n"
    "Objet : SUP",
    "spanish": "De: Sup Bot <sup@example.com>\nEnviado: lunes, 3 de junio de 2024 9:00\n"
    "Para: Dev\nAsunto: SUP",
    "italian": "Da: Sup Bot\nInviato: lunedì 3 giugno 2024 09:00\nA: Dev\nOggetto: SUP",
    "dutch": "Van: Sup Bot\nVerzonden: maandag 3 juni 2024 09:00\nAan: Dev\nOnderwerp: SUP",
    "swedish": "Från: Sup Bot [mailto:sup@example.com]\nSkickat: den 3 juni 2024 09:00\n"
    "Till: Dev\nÄmne: SUP",
    "russian": "От: Sup Bot\nОтправлено: 3 июня 2024 г. 9:00\nКому: Dev\nТема: SUP",
    "folded subject": "From: Sup Bot\nDate: Mon, Jun 3, 2024\nSubject: a subject that\n"
    "wraps\nTo: Dev",
}


@pytest.mark.parametrize("block", HEADER_BLOCKS.values(), ids=HEADER_BLOCKS.keys())
def test_header_block_cuts_the_original(block: str) -> None:
    body = f"working: web#45\n\n{block}\n\nSince my last SUP\n- api#120\n"
    assert trim(body) == "working: web#45"


DELIMITERS = [
    "-----Original Message-----",
    "-------- Original Message --------",
    "---------- Forwarded message ---------",
    "-----Ursprüngliche Nachricht-----",
    "-----Mensaje original-----",
    "-------- Message d'origine --------",
    "-----Oorspronkelijk bericht-----",
    "________________________________",
    "Begin forwarded message:",
]


@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_delimiter_cuts(delimiter: str) -> None:
    assert trim(f"done: api#130\n\n{delimiter}\nFrom: x\nDate: y\n\nold text") == "done: api#130"


def test_forward_at_the_top_keeps_the_forwarded_body() -> None:
    body = "---------- Forwarded message ----------\nFrom: A <a@x.org>\nDate: Mon\n" \
        "Subject: S\nTo: b@x.org\n\n\nThe forwarded body."
    assert trim(body) == "The forwarded body."


# --------------------------------------------------------------------------
# Signatures

MOBILE_FOOTERS = [
    "Sent from my iPhone",
    "Sent from my Samsung Galaxy smartphone.",
    "Sent from Outlook for Android",
    "Sent from Yahoo Mail on Android",
    "Sent with Airmail",
    "Sent from Mail for Windows",
    "Get Outlook for iOS<https://aka.ms/o0ukef>",
    "Get Outlook for Android",
    "Envoyé de mon iPhone",
    "Von meinem iPhone gesendet",
    "Gesendet von meinem iPad",
    "Enviado desde mi iPhone",
    "Enviado do meu iPhone",
    "Verzonden vanaf mijn iPhone",
    "Inviato da iPhone",
    "Skickat från min iPhone",
    "Sendt fra min iPad",
    "Wysłane z iPhone'a",
    "Отправлено с iPhone",
    "從我的 iPhone 傳送",
    "iPhoneから送信",
    "(sent from a phone)",
]


@pytest.mark.parametrize("footer", MOBILE_FOOTERS)
def test_mobile_footer_removed(footer: str) -> None:
    assert trim(f"blockers: none\n\n{footer}\n") == "blockers: none"
    assert strip_signature(f"blockers: none\n\n{footer}") == "blockers: none"


def test_dash_dash_signature_removed_but_inline_answers_after_it_kept() -> None:
    body = (
        "plan: review PRs\n\n-- \nBob Builder\nACME Corp\n\n"
        "On Mon, Jun 3, 2024 at 9:00 AM Sup <sup@example.com> wrote:\n"
        "> Issues/Blockers\nwaiting for the staging DB\n> Thanks\n"
    )
    assert trim(body) == "plan: review PRs\n\n> Issues/Blockers\nwaiting for the staging DB"


def test_strip_signature_keeps_quotes() -> None:
    assert strip_signature("hello\n\n-- \nBob\n\n> quoted") == "hello\n\n> quoted"


# --------------------------------------------------------------------------
# Interleaving and mailsup's inline answers

INLINE = (
    "plan: ship api#130\n\n"
    "On Mon, 3 Jun 2024 at 09:00, mailsup <sup+abc@example.com> wrote:\n\n"
    "> Since my last SUP\n> - api#120\n> By next business day\nworking on api#130\n"
    "> Issues/Blockers\nnone\n>\n> Reply to this mail\n"
)


def test_inline_answers_under_quoted_headings_are_kept() -> None:
    kept, elided = split(INLINE)
    assert kept == (
        "plan: ship api#130\n\n\n> Since my last SUP\n> - api#120\n> By next business day\n"
        "working on api#130\n> Issues/Blockers\nnone"
    )
    assert elided.startswith("On Mon, 3 Jun 2024") and "Reply to this mail" in elided


def test_keep_interleaved_false_keeps_only_top_text() -> None:
    assert trim(INLINE, keep_interleaved=False) == "plan: ship api#130"
    assert trim("> quoted\n\nmy text", keep_interleaved=False) == "my text"


def test_inline_answers_in_reply_without_top_text() -> None:
    body = "On Mon, Jun 3, 2024 at 9:00 AM Sup <sup@example.com> wrote:\n" \
        "> By next business day\nworking on api#130\n> Issues/Blockers\nnone\n"
    assert trim(body) == "> By next business day\nworking on api#130\n> Issues/Blockers\nnone"


def test_reply_below_quote_keeps_only_new_text() -> None:
    body = "On Mon, Jun 3, 2024 at 9:00 AM Sup <sup@example.com> wrote:\n> old\n> old\n\nnew"
    assert trim(body) == "new"


def test_quote_then_text_without_attribution_is_kept() -> None:
    assert trim("> This is a quote.\n\nAnd text.") == "> This is a quote.\n\nAnd text."


# --------------------------------------------------------------------------
# Things that must survive


def test_prose_that_looks_like_markers_is_kept() -> None:
    body = "On Monday I wrote the docs.\nDate: tomorrow\nplan: finish api#130\n" \
        "scheduling: part day\n\nThanks,\nBob"
    assert trim(body) == body


def test_code_fence_protects_delimiter_lookalikes() -> None:
    body = "Config:\n\n```\n####\n-----\n```\n\nDone."
    assert trim(body) == body


def test_crlf_and_blank_input() -> None:
    assert trim("a\r\nb\r\n\r\n> q\r\n") == "a\nb"
    assert trim("") == "" and trim(" \n\n ") == ""
    assert split("") == ("", "")


def test_long_pathological_input_is_fast() -> None:
    nasty = ("- " * 5000 + "x\n") + ("On " + "a " * 3000 + "<\n") * 50 + ("@" * 20000 + ":\n") \
        + "2024-01-01 " + "<" * 100 + "a@" * 5000 + ":\n" + "x " + " schrieb " * 300 + "@:\n"
    start = time.perf_counter()
    trim(nasty * 3)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "", "text", "> quote", ">> deep", "-- ", "Sent from my iPhone", "From: a", "Sent: b",
    "To: c", "-----Original Message-----", "On Mon, Jun 3, 2024 at 9:00 AM X <x@y.z> wrote:",
    "On Mon, Jun 3, 2024 at 9:00 AM X <", "x@y.z> wrote:", "```", "****", "plan: p",
]), max_size=25))
def test_trim_only_returns_lines_of_the_input(lines: list[str]) -> None:
    kept, elided = split("\n".join(lines))
    allowed = {line.rstrip() for line in lines} | set(lines)
    assert set(kept.splitlines()) <= allowed | {""}
    assert set(elided.splitlines()) <= allowed | {""}


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    kept, _ = split(text)
    assert trim(text) == kept
    html_to_text(text)


# --------------------------------------------------------------------------
# html_to_text


def test_html_blockquotes_become_nested_quote_lines() -> None:
    html = "<div>Hi<br>there</div><blockquote>outer<blockquote>inner</blockquote>" \
        "after</blockquote><p>end</p>"
    assert html_to_text(html) == "Hi\nthere\n> outer\n> > inner\n> after\nend"


def test_html_gmail_reply_trims_to_new_text() -> None:
    html = (
        '<div dir="ltr">plan: ship it</div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Mon, Jun 3, 2024 at 9:00 AM Sup &lt;<a href="mailto:s@x.org">'
        's@x.org</a>&gt; wrote:<br></div><blockquote class="gmail_quote">Since my last SUP'
        "</blockquote></div>"
    )
    text = html_to_text(html)
    assert "On Mon, Jun 3, 2024 at 9:00 AM Sup <s@x.org> wrote:\n> Since my last SUP" in text
    assert trim(text) == "plan: ship it"


def test_html_gmail_inline_answers_survive() -> None:
    html = (
        "<div>plan: x</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, Jun 3, "
        "2024 at 9:00 AM Sup &lt;s@x.org&gt; wrote:</div><blockquote>By next business day"
        "</blockquote><div>working on api#130</div><blockquote>Issues</blockquote>"
        "<div>none</div></div>"
    )
    assert trim(html_to_text(html)) == \
        "plan: x\n> By next business day\nworking on api#130\n> Issues\nnone"


@pytest.mark.parametrize("wrapper", [
    '<div id="divRplyFwdMsg" dir="ltr">',
    '<div id="appendonsend"></div><hr style="display:inline-block"><div id="divRplyFwdMsg">',
    '<span id="OLK_SRC_BODY_SECTION">',
    "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in\">",
    "<hr>",
])
def test_html_outlook_wrappers_become_a_separator(wrapper: str) -> None:
    html = f"<p>done: api#130</p>{wrapper}<b>From:</b> Sup<br><b>Sent:</b> Monday<br>" \
        "<b>To:</b> Dev<br><b>Subject:</b> SUP</div><p>Since my last SUP</p>"
    text = html_to_text(html)
    assert SEPARATOR in text
    assert trim(text) == "done: api#130"


def test_html_rule_in_own_text_is_not_a_separator() -> None:
    text = html_to_text("<p>part one</p><hr><p>part two</p>")
    assert SEPARATOR not in text
    assert trim(text) == "part one\n\npart two"


def test_html_thunderbird_cite_prefix() -> None:
    html = '<p>Hello</p><div class="moz-cite-prefix">On 03.06.2024 09:00, Sup\n  wrote:<br>' \
        '</div><blockquote type="cite">old</blockquote>'
    assert html_to_text(html) == "Hello\nOn 03.06.2024 09:00, Sup wrote:\n> old"
    assert trim(html_to_text(html)) == "Hello"


def test_html_signature_container_is_marked() -> None:
    html = '<div>plan: x</div><div class="gmail_signature">Bob<br>ACME</div>'
    assert trim(html_to_text(html)) == "plan: x"


def test_html_drops_script_style_and_unescapes() -> None:
    html = "<html><head><title>t</title><style>p{x:1}</style></head><body>" \
        "<script>alert(1)</script><p>a &amp; b&nbsp;&lt;c&gt; &#x263A;</p>" \
        "<ul><li>one</li><li>two</li></ul></body></html>"
    assert html_to_text(html) == "a & b <c> \u263a\none\ntwo"


def test_html_nbsp_paragraph_is_a_blank_line() -> None:
    html = "<p class=MsoNormal>Hi<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>" \
        "<p class=MsoNormal>Bye</p>"
    assert html_to_text(html) == "Hi\n\nBye"
