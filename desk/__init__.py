"""The ground floor: what every app of the desk shares, below all of them.

The errors a rule raises (errors), who may act where (access), input that is cleaned before anything reads it
(input_checks), the on-commit queue (queue), the sweep framework (sweeps), the admin's per-shop scoping and capped
paging (admin), the frame of the desk's own pages (pages), and the API's base classes with its one error shape (api).

It imports only Django (DRF and Celery where a piece needs them) and the core models (aftersales.models); never an
app's services, selectors, admin or API. tests/test_layering.py holds it to that.
"""
