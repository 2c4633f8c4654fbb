"""The vocabulary of a reply, and nothing else: labels, scheduling words, none-words,
ticket marks, sign-offs and greetings.

Teaching mailsup a new word is a one-line change here; the reading logic in
``fields`` and ``sup_reply`` compiles its patterns from these lists. Words are
lower case; the readers compare case-insensitively and forgive one typo in
labels and scheduling words of five letters or more.

Besides English, each list carries the six languages whose client header lines
the trimmer cuts in practice: German, French, Spanish, Dutch, Italian and
Portuguese (de, fr, es, nl, it, pt in the comments).
"""

from __future__ import annotations

from mailsup.models import SCHEDULING_VALUES

# Label words → the field they name ("plan:", "*Blockers:*", "Plan - …", "comment api:").
LABEL_WORDS = {
    "plan": (
        "plan", "plans", "planned", "plan for today", "plan today", "todo", "to do", "to-do",
        "planung", "plan für heute", "vorhaben",  # de
        "programme", "plan du jour", "objectifs",  # fr
        "planes", "plan de hoy", "tareas",  # es
        "planning", "plan voor vandaag", "taken",  # nl
        "piano", "programma", "piano di oggi",  # it
        "plano", "planos", "plano de hoje", "tarefas",  # pt
    ),
    "scheduling": (
        "scheduling", "schedule", "availability", "available", "hours", "capacity",
        "verfügbarkeit", "einsatz", "anwesenheit", "arbeitszeit",  # de
        "disponibilité", "disponibilite", "horaire", "présence",  # fr
        "disponibilidad", "horario", "jornada",  # es
        "beschikbaarheid", "inzet", "rooster",  # nl
        "disponibilità", "disponibilita", "orario",  # it
        "disponibilidade", "horário",  # pt
    ),
    "blockers": (
        "blocker", "blockers", "issues/blockers", "blocked", "blocking", "impediment",
        "impediments", "obstacles", "problems",
        "blockaden", "hindernisse", "probleme", "blockiert",  # de
        "blocages", "bloquants", "bloquant", "blocage", "problèmes",  # fr
        "bloqueos", "bloqueo", "bloqueantes", "impedimentos", "problemas",  # es
        "blokkades", "blokkade", "belemmeringen", "problemen", "geblokkeerd",  # nl
        "blocchi", "blocco", "bloccanti", "impedimenti", "problemi",  # it
        "bloqueios", "bloqueio", "impedimento",  # pt
    ),
    "done": (
        "done", "finished", "expect done",
        "erledigt", "fertig",  # de
        "fait", "terminé",  # fr
        "hecho", "terminado",  # es
        "klaar", "gedaan",  # nl
        "fatto", "completato",  # it
        "feito", "concluído",  # pt
    ),
    "working": (
        "working", "wip", "working on", "in progress",
        "in arbeit",  # de
        "en cours",  # fr
        "en curso", "trabajando",  # es
        "bezig", "mee bezig",  # nl
        "in corso",  # it
        "em andamento",  # pt
    ),
    "comment": (
        "comment", "comments", "note", "notes",
        "kommentar", "anmerkung",  # de
        "commentaire", "remarque",  # fr
        "comentario", "nota",  # es
        "opmerking", "commentaar",  # nl
        "commento",  # it
        "comentário",  # pt
    ),
}
LABELS = {word: name for name, words in LABEL_WORDS.items() for word in words}

# Words between a comment label and its repository: "comment on api:", "Kommentar zu api:".
COMMENT_LINKS = ("on", "for", "about", "zu", "für", "sur", "pour", "sobre", "para", "op",
                 "voor", "su", "per", "em")

# What people write for each of the four scheduling values (any language).
SCHEDULING_SYNONYMS = {
    "full day": (
        "full", "full-time", "full time", "fulltime", "all day", "available all day",
        "available", "100%", "whole day", "fullday", "full-day", "the whole day", "all day long",
        "ganzer tag", "ganztags", "voller tag", "den ganzen tag", "vollzeit",  # de
        "journée complète", "toute la journée", "temps plein", "journée entière",  # fr
        "día completo", "todo el día", "jornada completa", "tiempo completo",  # es
        "hele dag", "volledige dag", "de hele dag", "voltijd",  # nl
        "giornata intera", "tutto il giorno", "tempo pieno", "giornata piena",  # it
        "dia inteiro", "dia todo", "o dia todo", "tempo integral",  # pt
    ),
    "part day": (
        "half day", "half", "half-day", "partial", "part-time", "part time", "part",
        "morning only", "mornings only", "afternoon", "afternoon only", "morning", "50%",
        "partday", "part-day", "partial day", "leaving early", "short day",
        "halber tag", "halbtags", "teilzeit", "nur vormittags", "nur nachmittags",  # de
        "demi-journée", "demi journée", "mi-temps", "matin seulement", "temps partiel",  # fr
        "medio día", "media jornada", "solo mañana", "solo por la mañana",  # es
        "halve dag", "deeltijd", "alleen ochtend", "alleen middag",  # nl
        "mezza giornata", "solo mattina", "solo pomeriggio",  # it
        "meio período", "meio dia", "meio-dia", "só de manhã",  # pt
    ),
    "emergency only": (
        "emergency", "emergencies", "emergencies only", "on call", "on-call",
        "emergency-only", "only emergencies", "urgent only", "only urgent",
        "nur notfälle", "notfälle", "nur im notfall", "notfall", "bereitschaft",  # de
        "urgences uniquement", "urgences seulement", "urgences", "astreinte",  # fr
        "solo urgencias", "solo emergencias", "urgencias", "guardia",  # es
        "alleen noodgevallen", "noodgevallen", "alleen spoed", "piket",  # nl
        "solo emergenze", "emergenze", "reperibile", "reperibilità",  # it
        "só emergências", "apenas emergências", "emergências", "plantão",  # pt
    ),
    "unavailable": (
        "off", "pto", "vacation", "holiday", "holidays", "sick", "out", "away",
        "not available", "leave", "on leave", "day off", "ooo", "out of office", "off sick",
        "out sick", "sick leave", "sick day", "off today", "out today", "on holiday",
        "on vacation", "not working", "unavailable today",
        "krank", "krankgeschrieben", "urlaub", "frei", "nicht verfügbar", "abwesend",  # de
        "nicht da", "im urlaub",
        "malade", "congé", "en congé", "vacances", "en vacances", "absent", "absente",  # fr
        "indisponible", "pas disponible",
        "enfermo", "enferma", "de baja", "vacaciones", "de vacaciones", "no disponible",  # es
        "ausente", "libre", "día libre",
        "ziek", "vrij", "vakantie", "op vakantie", "verlof", "niet beschikbaar",  # nl
        "afwezig",
        "malato", "malata", "ferie", "in ferie", "vacanza", "non disponibile", "assente",  # it
        "doente", "férias", "de férias", "folga", "de folga", "indisponível",  # pt
    ),
}
SCHEDULING = {value: value for value in SCHEDULING_VALUES} | {
    word: value for value, words in SCHEDULING_SYNONYMS.items() for word in words}

# Phrases that imply a value and are themselves the note: "leaving at 14:00" → part day,
# note "leaving at 14:00".
SCHEDULING_HINTS = {
    "part day": (
        "leaving at", "leave at", "back at", "back by", "back after", "out from", "off from",
        "starting at", "start at", "until", "till", "only until", "dentist", "doctor",
        "appointment",
        "gehe um", "zurück um", "ab mittag", "arzttermin",  # de
        "je pars à", "de retour à", "rendez-vous",  # fr
        "me voy a las", "salgo a las", "de vuelta a las", "cita médica",  # es
        "ik ga om", "terug om", "tandarts", "afspraak",  # nl
        "esco alle", "torno alle", "appuntamento",  # it
        "saio às", "volto às", "consulta",  # pt
    ),
}

# Words that may stand before a scheduling value or after it without changing it
# ("I'm off sick today"); a note made only of these is no note.
SCHEDULING_FILLERS = (
    "i'm", "im", "i", "am", "i'll", "will", "be", "i'd", "is", "it's", "today", "for",
    "today's", "this", "week", "only", "the", "rest", "of", "day", "a", "all", "tomorrow",
    "sorry", "unfortunately",  # "Off sick today, sorry."
    "ich", "bin", "heute", "mich",  # de
    "je", "suis", "aujourd'hui", "serai",  # fr
    "estoy", "hoy", "soy", "estaré",  # es
    "ik", "ben", "vandaag",  # nl
    "sono", "oggi", "sarò",  # it
    "estou", "hoje", "vou", "estar",  # pt
)

# Blockers that say "no blockers": they escalate nothing.
NONE_WORDS = {
    "", "none", "no", "n/a", "na", "-", "--", "nothing", "nope", "nil", "no blockers",
    "no blocker", "not really", "no issues", "all good", "nothing blocking", "nothing so far",
    "no problems", "none whatsoever", "no impediments", "not blocked", "nothing really",
    "no blockers for now", "nothing new", "0", "keine", "nichts", "keine blocker",  # de
    "keine probleme", "nix",
    "rien", "aucun", "aucune", "pas de blocage", "aucun blocage", "néant",  # fr
    "nada", "ninguno", "ninguna", "sin bloqueos", "ningún bloqueo",  # es
    "geen", "niets", "geen blokkades", "geen problemen",  # nl
    "nessuno", "niente", "nessun blocco", "nulla",  # it
    "nenhum", "nenhuma", "sem bloqueios",  # pt
}
# What may follow a none-word and leave it one: "nothing at the moment", "none today".
NONE_TAILS = (
    "at the moment", "right now", "so far", "today", "for now", "currently", "yet",
    "at this time", "as of now", "this time", "thanks", "thank you",
    "im moment", "derzeit", "heute", "bisher",  # de
    "pour l'instant", "pour le moment", "aujourd'hui",  # fr
    "por ahora", "de momento", "hoy",  # es
    "op dit moment", "momenteel", "vandaag",  # nl
    "per ora", "al momento", "oggi",  # it
    "por enquanto", "no momento", "hoje",  # pt
)
# A line without a label that says "no blockers" is the blockers answer, not the plan.
NO_BLOCKER_LINES = {
    "no blockers", "no blocker", "nothing blocking", "no impediments", "not blocked",
    "blockers: none", "no blockers today", "keine blocker", "keine blockaden",
    "pas de blocage", "aucun blocage", "sin bloqueos", "ningún bloqueo", "geen blokkades",
    "nessun blocco", "sem bloqueios",
}
# A line without a label that starts with one of these is a blocker ("Blocked on staging").
BLOCKER_STARTS = ("blocked by", "blocked on", "blocked until", "blocker is", "my blocker",
                  "blockiert durch", "bloqué par", "bloqueado por", "geblokkeerd door",
                  "bloccato da")

# Ticket marks. In a box, before the ticket or after it: "[x] api#130", "✓ api#130",
# "api#130 - done", "web#45 - still working on it".
DONE_MARKS = {"x", "done", "✓", "✔", "✔️", "☑", "✅", "v", "y", "yes", "*", "+", "d"}
WORKING_MARKS = {"~", "w", "working", "wip", "-", "…", "...", "o", "/"}
# Marks that stand without a box before a ticket ("x api#130", "✓ portal#60").
BARE_MARKS = {"x": "done", "✓": "done", "✔": "done", "✔️": "done", "☑": "done", "✅": "done",
              "done": "done", "finished": "done", "erledigt": "done", "fait": "done",
              "hecho": "done", "klaar": "done", "fatto": "done", "feito": "done",
              "~": "working", "wip": "working", "working": "working", "🚧": "working"}
# What people write after a ticket to mark it.
DONE_PHRASES = (
    "done", "expect done", "expect to finish", "will be done", "will finish", "finished",
    "finishing today", "finish today", "complete", "completed", "closing", "close today",
    "merged", "ship today", "shipping today", "x", "✓", "✔", "✔️", "✅", "☑",
    "erledigt", "fertig", "wird heute fertig",  # de
    "fait", "terminé", "fini",  # fr
    "hecho", "terminado", "listo",  # es
    "klaar", "gedaan", "af",  # nl
    "fatto", "completato", "finito",  # it
    "feito", "concluído", "pronto",  # pt
)
WORKING_PHRASES = (
    "working", "working on it", "still working on it", "still working", "in progress", "wip",
    "ongoing", "continuing", "started", "still on it", "on it", "~", "🚧",
    "in arbeit", "dran", "läuft",  # de
    "en cours", "j'y travaille",  # fr
    "en curso", "en progreso", "trabajando en ello",  # es
    "bezig", "mee bezig", "nog bezig",  # nl
    "in corso", "ci sto lavorando",  # it
    "em andamento", "em progresso",  # pt
)

# "same as yesterday": the plan is the previous SUP's plan.
SAME_AS_BEFORE = (
    "same as yesterday", "same as before", "as yesterday", "same as last time",
    "same as last sup", "same plan", "same as previous", "same again", "ditto", "same",
    "wie gestern", "wie vorher", "wie zuvor", "gleich wie gestern", "dasselbe wie gestern",  # de
    "comme hier", "pareil qu'hier", "idem", "même chose qu'hier",  # fr
    "igual que ayer", "lo mismo que ayer", "como ayer",  # es
    "zelfde als gisteren", "hetzelfde als gisteren", "net als gisteren", "zoals gisteren",  # nl
    "come ieri", "uguale a ieri", "lo stesso di ieri",  # it
    "igual a ontem", "o mesmo de ontem", "como ontem",  # pt
)

# Sign-off words that end a piece of text ("Thanks,\nAlice"), English and the
# six languages whose client header lines the trimmer cuts.
SIGN_OFFS = (
    "thanks", "thank you", "thanks a lot", "many thanks", "thx", "ty", "cheers", "best",
    "best regards", "regards", "kind regards", "warm regards", "br", "all the best",
    "see you", "talk soon", "danke", "vielen dank", "gruß", "grüße", "viele grüße",
    "beste grüße", "lg", "mfg", "merci", "cordialement", "bien à vous", "saludos",
    "un saludo", "gracias", "groeten", "met vriendelijke groet", "groetjes", "bedankt", "ciao",
    "grazie", "saluti", "cordiali saluti", "obrigado", "obrigada", "abraços", "atenciosamente",
)

# Short lines that answer nothing ("ok", "see my answers inline").
PLEASANTRIES = ("ok", "okay", "sure", "done", "sounds good", "will do", ":)", "👍",
                "here you go", "see below", "answers below", "my answers are below",
                "siehe unten", "voir ci-dessous", "ver abajo", "zie hieronder")

# Greetings that open a reply ("Hi mailsup,").
GREETINGS = ("hi", "hello", "hey", "dear", "good morning", "morning", "hallo", "moin",
             "bonjour", "salut", "hola", "hoi", "guten morgen", "buenos días", "buongiorno",
             "bom dia", "olá", "goedemorgen")

# A developer's line that is an HR digest command ("reviewed", "flag 42 …"): not a plan.
HR_COMMAND_WORDS = ("reviewed", "flag", "unflag", "note")

PLAN_MISSING = ('the plan is missing: write it under "Plan (required):" or start a line '
                'with "plan:"')

# A delivery manager's reply to an escalation that says the blocker is gone.
RESOLVED_WORDS = ("resolved", "fixed", "done", "solved", "sorted", "sorted out", "unblocked",
                  "erledigt", "behoben", "gelöst", "résolu", "réglé", "resuelto",
                  "solucionado", "opgelost", "risolto", "resolvido")
# Words before it that keep its meaning ("it's fixed", "should be done now").
RESOLVED_LEADS = ("it's", "it is", "its", "this is", "that's", "that is", "now", "all",
                  "should be", "is now", "has been", "all good,", "ok,", "okay,")
# A line with one of these says the opposite ("not fixed yet", "nicht erledigt").
NEGATIONS = ("not", "n't", "no", "never", "nicht", "kein", "pas", "nunca", "niet", "non")
