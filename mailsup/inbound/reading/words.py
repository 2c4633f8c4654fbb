"""The vocabulary of a reply, and nothing else: labels, scheduling words, none-words,
ticket marks, sign-offs and greetings.

Teaching mailsup a new word is a one-line change here; the reading logic in
``fields`` and ``sup_reply`` compiles its patterns from these lists.
"""

from __future__ import annotations

from mailsup.models import SCHEDULING_VALUES

# Label words → the field they name ("plan:", "Blockers -", "comment api:").
LABELS = {"plan": "plan", "plans": "plan", "scheduling": "scheduling",
          "schedule": "scheduling", "availability": "scheduling", "blocker": "blockers",
          "blockers": "blockers", "issues/blockers": "blockers", "done": "done",
          "working": "working", "wip": "working", "comment": "comment"}

# What people write for each of the four scheduling values.
SCHEDULING_SYNONYMS = {
    "full day": ("full", "full-time", "full time", "fulltime", "all day", "100%", "whole day",
                 "fullday", "full-day"),
    "part day": ("half day", "half", "half-day", "partial", "part-time", "part time", "part",
                 "morning only", "mornings only", "afternoon", "afternoon only", "morning",
                 "50%", "partday", "part-day", "partial day"),
    "emergency only": ("emergency", "emergencies", "emergencies only", "on call", "on-call",
                       "emergency-only", "only emergencies"),
    "unavailable": ("off", "pto", "vacation", "holiday", "holidays", "sick", "out", "away",
                    "not available", "leave", "on leave", "day off", "ooo", "out of office"),
}
SCHEDULING = {value: value for value in SCHEDULING_VALUES} | {
    word: value for value, words in SCHEDULING_SYNONYMS.items() for word in words}

# Blockers that say "no blockers".
NONE_WORDS = {
    "", "none", "no", "n/a", "na", "-", "--", "nothing", "nope", "nil", "no blockers",
    "no blocker", "none so far", "none at the moment", "none right now", "not really",
    "no issues", "all good", "none today", "no blockers today", "nothing blocking",
}

# Checkbox marks: "[x] api#130" expects it done, "[~] web#45" is being worked on.
DONE_MARKS = {"x", "done", "✓", "✔", "✔️", "☑", "✅", "v", "y", "yes", "*"}
WORKING_MARKS = {"~", "w", "working", "wip", "-", "…", "...", "o"}

# Sign-off words that end a piece of text ("Thanks,\nAlice"), English and the
# six languages whose client header lines the trimmer cuts.
SIGN_OFFS = (
    "thanks", "thank you", "thanks a lot", "many thanks", "thx", "ty", "cheers", "best",
    "best regards", "regards", "kind regards", "warm regards", "br", "all the best",
    "see you", "talk soon", "danke", "vielen dank", "gruß", "grüße", "viele grüße",
    "beste grüße", "lg", "mfg", "merci", "cordialement", "bien à vous", "saludos",
    "un saludo", "gracias", "groeten", "met vriendelijke groet", "groetjes", "bedankt", "ciao",
)

# Short lines that answer nothing ("ok", "see my answers inline").
PLEASANTRIES = ("ok", "okay", "sure", "done", "sounds good", "will do", ":)", "👍")

# Greetings that open a reply ("Hi mailsup,").
GREETINGS = ("hi", "hello", "hey", "dear", "good morning", "morning", "hallo", "moin",
             "bonjour", "salut", "hola", "hoi")

PLAN_MISSING = ('the plan is missing: write it under "Plan (required):" or start a line '
                'with "plan:"')
