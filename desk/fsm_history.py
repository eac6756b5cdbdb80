"""django-fsm's field listens to `class_prepared` for every model it is put on, to collect its transitions.

Migrations render historical copies of each model (module `__fake__`) thousands of times during one `migrate`, and
every copy of an FSMField connected one more receiver. Each later model then called all of them: a fresh SQLite
`migrate` spent about a third of its time in that signal (2 million calls of `_collect_transitions`). Historical
models carry no methods, so no transitions: their fields need not listen.
"""

from django.db.models.signals import class_prepared
from django_fsm import FSMFieldMixin

HISTORICAL_MODULE = "__fake__"


def fsm_fields_skip_historical_models() -> None:
    if getattr(FSMFieldMixin.contribute_to_class, "skips_historical_models", False):
        return
    contribute = FSMFieldMixin.contribute_to_class

    def contribute_to_class(self, cls, name, *args, **kwargs):
        contribute(self, cls, name, *args, **kwargs)
        if cls.__module__ == HISTORICAL_MODULE:
            class_prepared.disconnect(self._collect_transitions)

    contribute_to_class.skips_historical_models = True  # type: ignore[attr-defined]
    FSMFieldMixin.contribute_to_class = contribute_to_class  # type: ignore[method-assign]
