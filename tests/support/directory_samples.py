"""Directory files the tests load: a Berlin and a New York developer."""

TWO_ZONES = """
[[people]]
email = "alice@example.com"
name = "Alice Smith"
aliases = ["alice@home.example"]
github = "alice"
slack = "U0ALICE"
timezone = "Europe/Berlin"
holiday_country = "DE"
leave = [["2026-12-01", "2026-12-02"]]

[[people]]
email = "bob@example.com"
name = "Bob Jones"
github = "bobj"
timezone = "America/New_York"
holiday_country = "US"

[[people]]
email = "hana@example.com"
name = "Hana HR"
github = "hana-hr"
timezone = "Europe/Berlin"

[[people]]
email = "dan@example.com"
name = "Dan Delivery"
timezone = "Europe/London"

[[clients]]
slug = "acme"
name = "Acme Corp"
orgs = ["acme"]
hr = "hana@example.com"
hr_repo = "acme/hr"
delivery_managers = ["dan@example.com"]

[[teams]]
org = "acme"
slug = "platform"
name = "Platform"
members = ["alice@example.com", "bob@example.com"]
delivery_manager = "dan@example.com"

[[repos]]
org = "acme"
name = "api"
"""
