"""The core's API doors: orders, tickets, approvals and reasons (views), complaints. (The 抖店 push door moved to
marketplaces.api.) They build on the ground floor's base classes and error shape (desk.api)."""
