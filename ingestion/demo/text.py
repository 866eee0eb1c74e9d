"""Words the demo world is written in: company and people names, and ticket and NPS phrases.

Ticket phrases come in three tones so that sentiment computed from text later (DESIGN §5,
`ticket_sentiment`) recovers the health that chose the tone; the vocabulary is deliberately
plain so a lexicon scorer such as VADER reads it the way a person would.
"""

from __future__ import annotations

# fmt: off
COMPANY_WORDS = (
    "acme", "blue", "north", "silver", "bright", "summit", "harbor", "cedar", "quantum",
    "rapid", "lunar", "granite", "maple", "polar", "vivid", "atlas", "coral", "ember",
    "falcon", "golden", "iron", "jade", "kite", "lotus", "meadow", "nova", "orbit", "pioneer",
    "river", "sierra",
)
COMPANY_NOUNS = (
    "widgets", "peak", "labs", "works", "systems", "bridge", "forge", "stone", "field",
    "point", "wave", "path", "gate", "grove", "signal", "spark", "tower", "valley", "vector",
    "yard", "anchor", "beacon", "canyon", "delta", "echo", "fjord", "harvest", "island",
    "junction", "key",
)
# The empty kind gives plain two-word names ("Acme Widgets").
COMPANY_KINDS = (
    "", "logistics", "health", "analytics", "foods", "energy", "retail", "finance", "media",
    "robotics",
)

FIRST_NAMES = (
    "ana", "ben", "chloe", "david", "elena", "farid", "grace", "hugo", "ines", "jamal", "kira",
    "liam", "maya", "noah", "olga", "pablo", "quinn", "rosa", "sam", "tara", "umar", "vera",
    "wei", "ximena", "yusuf", "zoe", "arjun", "bea", "carlos", "dana", "emil", "fatima", "gus",
    "hana", "ivan", "julia", "kofi", "lena", "marco", "nina",
)
LAST_NAMES = (
    "garcia", "smith", "mueller", "rossi", "kowalski", "nguyen", "okafor", "silva", "tanaka",
    "dubois", "jensen", "haddad", "novak", "petrov", "lopez", "kim", "brown", "costa",
    "fischer", "ali", "singh", "moreau", "larsen", "ivanova", "mendes", "sato", "weber",
    "hughes", "reyes", "berg", "chen", "patel", "walsh", "romero", "lind", "adeyemi", "murphy",
    "sousa", "horvat", "yilmaz",
)
# The customer-success managers who own accounts, as the local part of their email.
CSM_NAMES = (
    "maria.lopez", "tom.becker", "aisha.khan", "lucas.martin", "sofia.romano", "daniel.park",
    "emma.wright", "omar.haddad", "julia.novak", "kenji.sato", "nora.berg", "felix.costa",
)
# fmt: on
VENDOR_DOMAIN = "vendor.example"

# One row per ticket topic: subject, and the thing the customer writes about.
TICKET_TOPICS = (
    ("report export", "the CSV export of our monthly report"),
    ("SSO login", "single sign-on for new users"),
    ("CRM sync", "the nightly sync with our CRM"),
    ("invoice", "the latest invoice"),
    ("user permissions", "permissions for the finance team"),
    ("API limits", "the API rate limits"),
    ("workflow automation", "the workflow that should run every morning"),
    ("dashboard", "the executive dashboard"),
)

# Per tone (negative, neutral, positive): subject templates, openers, middles, closers.
# `{subject}` and `{detail}` come from TICKET_TOPICS.
TICKET_SUBJECTS = (
    ("URGENT: {subject} broken again", "{subject} still failing", "Unacceptable: {subject}"),
    ("Question about {subject}", "{subject}", "Help with {subject}"),
    ("Small request: {subject}", "{subject} idea", "Thanks + a question on {subject}"),
)
TICKET_OPENERS = (
    (
        "This is really frustrating.",
        "We are very unhappy with the service lately.",
        "Honestly, this is unacceptable.",
        "Same problem again and we are losing patience.",
        "This keeps breaking and it is hurting our team.",
    ),
    (
        "Hello team.",
        "Hope you are well.",
        "Quick question.",
        "Following up on our setup.",
        "Reaching out about our account.",
    ),
    (
        "Thanks for the great help last week!",
        "We love the new dashboards, great work.",
        "Really happy with the product so far.",
        "Awesome support as always, thank you.",
        "Things are going well on our side.",
    ),
)
TICKET_MIDDLES = (
    (
        "{detail} is failing again and nobody has fixed it.",
        "{detail} has been broken for days.",
        "{detail} is wrong and the workaround you gave us does not work.",
    ),
    (
        "Could you help us with {detail}?",
        "We have a question about {detail}.",
        "Can you check {detail} for us?",
    ),
    (
        "Could you help us extend {detail}? Everything else works great.",
        "We would like to do more with {detail}, it has been very useful.",
        "A small improvement to {detail} would make it perfect.",
    ),
)
TICKET_CLOSERS = (
    (
        "Please escalate, this is urgent.",
        "We are considering alternatives if this is not resolved.",
        "Very disappointed.",
    ),
    ("Thanks.", "Regards.", "Let us know."),
    ("Thanks a lot, you are great!", "Appreciate it, keep up the good work.", "Cheers and thanks!"),
)

# NPS comments per band: detractor (0-6), passive (7-8), promoter (9-10).
NPS_COMMENTS = (
    (
        "Too many bugs and slow support.",
        "Hard to use and the reports are often wrong.",
        "We do not get the value we pay for.",
        "Onboarding was painful.",
    ),
    (
        "Good product, a few rough edges.",
        "Does the job, pricing is a bit high.",
        "Solid, but the UI could be simpler.",
    ),
    (
        "Love it, our team uses it every day.",
        "Excellent product and great support.",
        "Saves us hours every week, highly recommend.",
    ),
)

OVERRIDE_REASONS = {
    "red": (
        "Champion left; new VP evaluating competitors",
        "Budget freeze announced, renewal at risk",
    ),
    "yellow": ("Reorg in progress, waiting for new owner",),
    "green": (
        "Exec sponsor confirmed renewal verbally",
        "Usage dip is seasonal (fiscal year end)",
    ),
}
