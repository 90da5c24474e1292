"""Who may see and do what: principals, roles, the one policy point, identities and the audit.

Everything that serves or changes data asks :mod:`onemap.access.policy`; nothing else decides.
"""
