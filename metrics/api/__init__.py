"""Metrics' API doors: the figures and the staffing forecast (figures), and the platforms' data pushed in
(platform_data). They build on the ground floor's error shape and parsers (desk.api)."""
