"""Plans shared by tests: the applicant-screening request of issue 9 as its gold plan."""

from __future__ import annotations

APPLICANT_PROMPT = ("when a new row is added to our applicants sheet, score the CV with an LLM; if the score is above 7 "
                    "email the hiring manager, otherwise send a rejection email to the candidate")
APPLICANT_PLAN = {
    "title": "Screen applicants", "language": "en",
    "trigger": {"kind": "app_event", "service": "google_sheets", "event": "new row"},
    "steps": [
        {"kind": "ai", "id": "score_cv", "task": "score", "quote": "score the CV with an LLM"},
        {"kind": "branch", "id": "check", "on": "score_cv", "field": "score", "quote": "if the score is above 7",
         "cases": [{"label": "strong", "when": {"subject": "score_cv", "field": "score", "op": "gt", "value": 7},
                    "steps": [{"kind": "deliver", "id": "tell_manager", "service": "email", "target": "hiring manager"}]}],
         "otherwise": [{"kind": "deliver", "id": "reject", "service": "email", "target": "candidate"}]},
    ],
}
