"""In-process stand-ins for the GitHub and Slack APIs.

They speak HTTP to the real PyGithub and slack_sdk clients and count every
request, so the tests can prove request budgets, and ``mailsup demo`` can show
the whole day (footprints, overdue-review issues, Slack nags) with no network.
"""
