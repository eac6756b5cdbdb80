"""Metrics' pages: the manager's dashboard (dashboard) and the staffing forecast (staffing), in the desk's page
frame (desk.pages)."""
