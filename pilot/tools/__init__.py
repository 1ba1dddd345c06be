"""Tools/connectors a ``tool`` node can call (webhook, Slack, email), each with validated arguments."""
