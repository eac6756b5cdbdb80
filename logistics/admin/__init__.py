"""Logistics' admin: couriers, agreements, intercepts, parcels, tracking accounts, no-scan rules and the robot
outbox (parcels); the claims ledger (claims); the history inline they share (inlines).

Importing them registers their admins; every list is scoped to the user's shops (desk.admin.scoping).
"""

from logistics.admin import claims, parcels  # noqa: F401
