"""How money reads, in one place: yuan to the fen (two decimals, half up), with the ¥ sign on pages and exports.

Sums and quotients come back from the databases with many places (SQLite's SUM of a decimal column is a float that
Django reads to 15 digits, "5628.10000000000"; a division keeps 28), so every amount shown, exported or put into a
form is rounded here first. Counts are whole numbers and never pass through this module.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from django.db.models import Max, Sum

CENTS = Decimal("0.01")


def to_yuan(value) -> Decimal | None:
    """The amount as Decimal yuan with two places, or None for no amount. A float goes through its shortest text
    (0.1 + 0.2 is 0.30, not 0.3000000000000000444)."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value)
        if not amount.is_finite():
            raise InvalidOperation
        with localcontext() as context:
            # Room for every digit of a big figure (the staffing calculator takes 31-digit GMVs) and the two places.
            context.prec = max(context.prec, amount.adjusted() + 3)
            return amount.quantize(CENTS, ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not an amount: {value!r}") from None


def format_yuan(value, *, sign: bool = True) -> str:
    """ "¥5628.10" (or "5628.10" with `sign=False`, for a text that writes the ¥ itself); "" for no amount."""
    amount = to_yuan(value)
    if amount is None:
        return ""
    if amount == 0:
        amount = abs(amount)  # no "¥-0.00"
    return f"¥{amount}" if sign else str(amount)


def _yuan_converter(value, expression, connection):
    return to_yuan(value)


class YuanAggregateMixin:
    """An aggregate of a money column that reads as Decimal yuan with two places on every database: SQLite hands
    Django a float or an int for any aggregate ("5628.10000000000", "200"), PostgreSQL the column's scale."""

    def get_db_converters(self, connection):
        return [*super().get_db_converters(connection), _yuan_converter]


class YuanSum(YuanAggregateMixin, Sum):
    pass


class YuanMax(YuanAggregateMixin, Max):
    pass
