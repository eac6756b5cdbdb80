"""What every app's admin shares: per-shop scoping (scoping) and lists that never count the whole table (paging)."""
