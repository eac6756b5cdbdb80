"""The core's API doors: orders, tickets, approvals and reasons (views), and the marketplaces' pushes (marketplace).
They build on the ground floor's base classes and error shape (desk.api)."""
