"""Pages for the big lists (a year of orders, a million tickets) that never count the whole table.

Django's changelist counts its filtered rows on every page load to number the pages. On a shop's year that count
is the slowest part of the page and grows with the table, so these lists count at most `cap` rows (one bounded
COUNT over a LIMIT, read from an index) and say "more than …" above it: the pages up to the cap are numbered,
and a filter or a search narrows the rest.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        counted = self.object_list.order_by().values("pk")[: self.cap + 1].count()
        self.is_capped = counted > self.cap
        return min(counted, self.cap)

    is_capped = False


class CappedCountAdminMixin:
    """For a ModelAdmin over a table that grows with the years: bounded count, no full count either."""

    paginator = CappedCountPaginator
    show_full_result_count = False
