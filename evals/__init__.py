"""Generation-quality evaluation: labelled requests (``data/requests.jsonl``), the n8n adapter
(``n8n.py``) and the runner (``python -m evals`` / ``pilot eval``)."""
