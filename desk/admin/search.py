"""Searches of the big lists that each read an index, at a year of orders and a million tickets.

Django turns a `=field` search field into `UPPER(field) = UPPER(term)` (an `iexact` lookup), which no plain index
serves: on a year of orders the rows and the count are each a full scan. The numbers agents search by (order
numbers, waybills, refund ids, phones) are matched as written, so this mixin matches every `=field` exactly
(case-sensitive `=`, which the field's btree index serves), each field on its own, and lists the union of the matches.

One query finds the matching ids (a UNION of one indexed lookup per field, at most `SEARCH_MATCH_CAP` of them),
then the list filters by those ids: a fixed number of queries, whatever the table's size, and no OR across joins
(which PostgreSQL answers with a full scan).
"""

from django.contrib import admin

SEARCH_MATCH_CAP = 500


class ExactSearchMixin:
    """For a ModelAdmin whose search fields are all `=field` (exact numbers). `search_term_for(field, term)` may
    normalise the term per field (a waybill's spaces and case, say)."""

    def search_term_for(self, field: str, term: str) -> str:
        return term

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        fields = [field.removeprefix("=") for field in self.get_search_fields(request) if field.startswith("=")]
        if not term or not fields:
            return admin.ModelAdmin.get_search_results(self, request, queryset, search_term)
        # The list's own rows (the user's shops, the chosen filters), one indexed lookup per field.
        lookups = [
            queryset.filter(**{field: self.search_term_for(field, term)}).order_by().values_list("pk")
            for field in fields
        ]
        matches = lookups[0].union(*lookups[1:]) if len(lookups) > 1 else lookups[0]
        ids = [pk for (pk,) in matches[:SEARCH_MATCH_CAP]]
        return queryset.filter(pk__in=ids), False
