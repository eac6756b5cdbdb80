"""Two corrections to django-fsm (django-fsm-2 4.2.4), applied once when the apps are ready (aftersales.apps).

1. Its field listens to `class_prepared` for every model it is put on, to collect its transitions. Migrations render
   historical copies of each model (module `__fake__`) thousands of times during one `migrate`, and every copy of an
   FSMField connected one more receiver, which each later model then called: a fresh SQLite `migrate` spent about a
   third of its time in that signal (2 million calls). Historical models carry no methods, so no transitions: their
   fields need not listen.

2. Its `refresh_from_db` lifts a protected state field's protection on the field itself, that is for every instance
   in every thread, and puts it back afterwards: a thread refreshing a ticket while another did the same found the
   protection back halfway and failed with "Direct state modification is not allowed" (seen as HTTP 500s on the
   marketplace pushes, whose server answers each in a thread). The descriptor refuses a write only when the instance
   already holds a value, so taking the instance's own values out first lifts it for that instance alone (and the
   fields to refresh are named, or Django would take the ones taken out for deferred and read them one by one later).
"""

from django.db.models.signals import class_prepared
from django_fsm import FSMFieldMixin, FSMModelMixin

HISTORICAL_MODULE = "__fake__"


def _contribute_to_class(contribute):
    def contribute_to_class(self, cls, name, *args, **kwargs):
        contribute(self, cls, name, *args, **kwargs)
        if cls.__module__ == HISTORICAL_MODULE:
            class_prepared.disconnect(self._collect_transitions)

    return contribute_to_class


def _refresh_from_db(self, using=None, fields=None, from_queryset=None):
    everything = fields is None
    if everything:
        # Taken out below, the protected fields would look deferred to Django, which would leave them out of the
        # refresh and load each on its first read: one more query per refresh (one per ticket_open). Name every
        # field loaded now instead, and forget the cached relations as a refresh of everything does.
        deferred = self.get_deferred_fields()
        fields = [field.attname for field in self._meta.concrete_fields if field.attname not in deferred]
    refreshed = self._get_protected_fsm_fields() & set(fields)
    held = {name: self.__dict__.pop(name) for name in refreshed if name in self.__dict__}
    try:
        super(FSMModelMixin, self).refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
    except BaseException:
        for name, value in held.items():
            self.__dict__.setdefault(name, value)
        raise
    if everything:
        self._prefetched_objects_cache = {}
        for relation in [*self._meta.related_objects, *self._meta.private_fields]:
            if relation.is_relation and relation.is_cached(self):
                relation.delete_cached_value(self)


def fsm_corrections_apply() -> None:
    if getattr(FSMModelMixin, "corrections_applied", False):
        return
    FSMFieldMixin.contribute_to_class = _contribute_to_class(FSMFieldMixin.contribute_to_class)  # type: ignore[method-assign]
    FSMModelMixin.refresh_from_db = _refresh_from_db  # type: ignore[method-assign,assignment]
    FSMModelMixin.corrections_applied = True  # type: ignore[attr-defined]
