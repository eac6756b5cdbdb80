"""Every spreadsheet the desk writes goes through here, so that no text from a buyer, a shop or a platform can turn
into a live formula on the computer of whoever opens the file (CSV/formula injection, OWASP).

openpyxl stores any string that starts with "=" as a formula (and "#N/A" and the like as error values); a cell
made here keeps a string as a string, whatever it starts with. The text itself is written unchanged, so an exported
workbook still imports back. Strings that start with a character a spreadsheet program reads as the start of a
formula ("=", "+", "-", "@", tab, carriage return) are also marked with Excel's quote prefix, the cell-level
"this is text" flag, so editing such a cell in Excel keeps it text. Numbers, dates and None are written as they are.

Write rows with `sheet_append` (or build one cell with `sheet_cell`), never with the worksheet's own `append`.
"""

from django.utils.functional import Promise
from openpyxl.cell import Cell, WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def sheet_cell(sheet, value) -> Cell:
    """A cell of `sheet` holding `value`; a string (or lazy translation) is always a text cell.

    `value` may already be a cell (to carry a number format); a string in it is made text the same way."""
    if isinstance(value, Cell):
        cell = value
    else:
        cell = WriteOnlyCell(sheet, value=str(value) if isinstance(value, Promise) else value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    return cell


def sheet_append(sheet, values) -> None:
    """Append one row of `values` to `sheet` (a normal or a write-only worksheet), each through `sheet_cell`."""
    sheet.append([sheet_cell(sheet, value) for value in values])
