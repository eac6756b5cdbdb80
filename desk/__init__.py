"""The ground floor: what every app of the desk shares, below all of them.

- errors: ActionRefused, the one exception a rule raises;
- access: the role permission names, the user's shops, the system user, and require_in_shop;
- input_checks: input cleaned before anything reads it (text, JSON, body size, waybill numbers);
- queue: enqueue_on_commit, a task sent once its transaction commits;
- sweeps: the sweep framework (runs recorded as SweepRun, locked batches, the per-kind step registry);
- admin: per-shop scoping of every admin (admin.scoping) and lists that never count the whole table (admin.paging);
- pages: the frame and door of the desk's own pages;
- api: the API's base views (api.views), its one error shape and idempotent writes (api.support), its parsers and
  list filters.

It imports only Django (DRF and Celery where a piece needs them) and the core models (aftersales.models); never an
app's services, selectors, admin, API or tasks. tests/test_layering.py holds it to that.
"""
