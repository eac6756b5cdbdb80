"""The core's admin, one module per desk: platforms, shops and orders (orders); refunds, reasons, escalation words
and refund authorities (config); complaints (complaints); reply templates (replies); the sweep runs (sweeps);
tickets, approvals and cut-offs (tickets).

Importing them registers their admins; every list is scoped to the user's shops (desk.admin.scoping).
"""

from aftersales.admin import complaints, config, orders, replies, sweeps, tickets  # noqa: F401
