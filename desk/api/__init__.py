"""What every app's API shares: the base views (views), the one error shape and idempotent writes (support), the
parsers every body goes through (parsers) and the list filters (filters)."""
