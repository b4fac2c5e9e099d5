"""Who is asking: accounts, API keys, tokens, roles and the audit trail.

`principal` and `permissions` are the contract every surface (API, app, CLI) shares: a principal carries its org,
team and role from identity, and one permission table says what it may do and which rows it may read.
"""
