"""Pages for the big lists (a year of orders, a million tickets) that never count the whole table.

Django's changelist counts its filtered rows on every page load to number the pages. On a shop's year that count
is the slowest part of the page and grows with the table, so these lists count at most `cap` rows (one bounded
COUNT over a LIMIT, read from an index) and say "more than …" above it: the pages up to the cap are numbered,
and a filter or a search narrows the rest.

A deep page (150 of a list) still makes the database walk the rows before it: with a LIMIT … OFFSET over the list's
joins (ticket, order, waybill, shop) and per-row columns, every skipped row is joined and computed too.
`IdsFirstPaginator` takes the page's ids from the list's own table first (the ordering's index, the filters' joins
only) inside the page query, so only the page's rows are joined: the same one query, whatever the page.
"""

from typing import ClassVar, cast

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        # The admin pages a queryset (the stubs type object_list as any sliceable sequence).
        rows = cast(QuerySet, self.object_list)
        counted = rows.order_by().values("pk")[: self.cap + 1].count()
        self.is_capped = counted > self.cap
        return min(counted, self.cap)

    is_capped = False


class IdsFirstPaginator(CappedCountPaginator):
    """A capped count, and each page as `WHERE pk IN (the page's ids, in order, LIMIT … OFFSET …)` with the list's
    joins and ordering outside: the offset is walked on one table's index, not through every join."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self.object_list
        # A DISTINCT list selects its ordering columns too, so its ids could not be a one-column subquery.
        if not isinstance(rows, QuerySet) or rows.query.distinct or not rows.ordered:
            return Page(rows[bottom:top], number, self)
        return Page(rows.filter(pk__in=rows.values("pk")[bottom:top]), number, self)


class CappedCountAdminMixin:
    """For a ModelAdmin over a table that grows with the years: bounded count, no full count either."""

    paginator: type[Paginator] = CappedCountPaginator
    show_full_result_count: ClassVar[bool] = False


class IdsFirstAdminMixin(CappedCountAdminMixin):
    """For a ModelAdmin whose list joins several tables per row: bounded count, and deep pages that read only their
    own rows' joins (IdsFirstPaginator)."""

    paginator: type[Paginator] = IdsFirstPaginator
