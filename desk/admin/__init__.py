"""What every app's admin shares: per-shop scoping (scoping); lists that never count the whole table nor join the
rows before their page (paging); rows without a template per cell (rows)."""
