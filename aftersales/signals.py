"""Signals of the after-sales app for the apps that read it (this app imports no other app of ours, DESIGN §2).

`orders_changed(order_ids=[…])` is sent inside the transaction of every change to orders or to what hangs on them
(tickets and their events, refunds, rulings, complaints), and before a change that moves one of an order's times
(payment, shipping, signature) as well: the metrics app marks the days whose rolled-up figures move
(metrics/dirty.py) in the same transaction.
"""

from django.dispatch import Signal

orders_changed = Signal()


def orders_changed_send(order_ids, *, orders_written: bool = False) -> None:
    """`orders_written`: the orders themselves were written (new, or their buyer or payment may have changed), which
    also moves what the same buyers' earlier tickets count (repurchases)."""
    order_ids = [order_id for order_id in order_ids if order_id is not None]
    if order_ids:
        orders_changed.send(sender=None, order_ids=order_ids, repurchases=orders_written)
