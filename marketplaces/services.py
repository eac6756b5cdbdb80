"""Writes of the marketplace connectors: connections, the inbound sync (pull and push) and what a platform record
means for its ticket. Every ticket change goes through aftersales.services as the system user: the platform acts,
the desk records; a refund any of it implies still goes through the one authority gate.

Network calls happen outside transactions: a pull fetches a page, then the page's new requests are stored and opened
in one transaction (records_apply) and each other record is stored and applied in its own short transaction; a push
is verified, each record re-read from the platform, then applied.
"""

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import AfterSalesTicket, Order, Refund, ReturnReason, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import (
    OpenRequest,
    refund_settle,
    ticket_agree_return,
    ticket_change_reason,
    ticket_close,
    ticket_escalate_to_platform,
    ticket_open_or_find,
    ticket_platform_ruling,
    ticket_record_platform_refund,
    ticket_reject,
    ticket_return_shipped,
    ticket_set_platform_deadline,
    ticket_withdraw,
    tickets_flag_for_agent,
    tickets_open_bulk,
)
from desk.errors import ActionRefused
from marketplaces import crypto, lock_objects
from marketplaces.adapters import get_adapter
from marketplaces.adapters.base import (
    AfterSaleRecord,
    BusinessRefusal,
    Credentials,
    PlatformError,
    PushMessage,
    RateLimited,
    RecordKind,
    RecordStatus,
    Ruling,
    SessionInvalid,
    TokenGrant,
    TokenRefreshUnavailable,
)
from marketplaces.models import PlatformRecord, ShopConnection
from marketplaces.reasons import reason_for

logger = logging.getLogger(__name__)

# A pull stops this short of now: records the platform is still writing this second are left for the next one.
PULL_LAG = timedelta(seconds=5)
# How many windows one sync run may walk (a connection far behind catches up over several runs).
MAX_WINDOWS_PER_RUN = 48
# A first sync starts this far back.
FIRST_SYNC_LOOKBACK = timedelta(days=1)
# A sync lease older than this belongs to a dead worker and may be taken over.
SYNC_LEASE = timedelta(minutes=10)
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
# A token expiring within this window is refreshed; a failed attempt is tried again after TOKEN_REFRESH_RETRY.
TOKEN_REFRESH_WINDOW = timedelta(hours=24)
TOKEN_REFRESH_RETRY = timedelta(hours=1)


# --- connections ----------------------------------------------------------------------------------------------------


def credentials_for(connection: ShopConnection) -> Credentials:
    from django.conf import settings

    return Credentials(
        app_key=connection.app_key,
        app_secret=crypto.decrypt(connection.app_secret_encrypted),
        access_token=crypto.decrypt(connection.access_token_encrypted),
        shop_id=connection.shop.platform_shop_id,
        is_tmall=connection.shop.platform.code == "tmall",
        gateway_url=connection.gateway_url,
        timeout_seconds=settings.MARKETPLACE_HTTP_TIMEOUT_SECONDS,
        push_secret=crypto.decrypt(connection.push_secret_encrypted) if connection.push_secret_encrypted else "",
    )


@transaction.atomic
def connection_connect(
    *,
    shop,
    gateway_url: str,
    app_key: str,
    app_secret: str,
    access_token: str,
    token_expires_at: datetime | None = None,
    refresh_token: str = "",
    push_secret: str = "",
) -> ShopConnection:
    """Connect a shop (or reconnect it with new secrets): a broken connection is connected again, its writes resume."""
    get_adapter(shop.platform.code)  # refuses a platform with no adapter
    connection = ShopConnection.objects.filter(shop=shop).first() or ShopConnection(shop=shop)
    connection.gateway_url = gateway_url
    connection.app_key = app_key
    if app_secret:
        connection.set_app_secret(app_secret)
    if access_token:
        connection.set_access_token(access_token)
        connection.token_expires_at = token_expires_at
        connection.token_refresh_message = ""
        connection.token_refresh_tried_at = None
    if refresh_token:
        connection.set_refresh_token(refresh_token)
    if push_secret:
        connection.set_push_secret(push_secret)
    connection.state = ShopConnection.State.CONNECTED
    connection.broken_message = ""
    connection.broken_at = None
    connection.backoff_until = None
    connection.backoff_failures = 0
    connection.save()
    return connection


@transaction.atomic
def connection_mark_broken(*, connection_id: int, message: str) -> None:
    """The platform refused the shop's session: nothing is written to it until a manager connects it again."""
    connection = lock_objects.connection_for_update(connection_id)
    connection.state = ShopConnection.State.BROKEN
    connection.broken_message = (message or _("The platform refused the shop's session."))[:1000]
    connection.broken_at = timezone.now()
    connection.save(update_fields=["state", "broken_message", "broken_at", "updated_at"])


@transaction.atomic
def connection_back_off(*, connection_id: int) -> datetime:
    """A rate-limit answer: this connection waits (exponential, with jitter); the others go on."""
    connection = lock_objects.connection_for_update(connection_id)
    connection.backoff_failures += 1
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(connection.backoff_failures, 10))
    connection.backoff_until = timezone.now() + timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311
    connection.save(update_fields=["backoff_failures", "backoff_until", "updated_at"])
    return connection.backoff_until


def connection_may_call(connection: ShopConnection, *, now=None) -> bool:
    now = now or timezone.now()
    return (
        connection.is_enabled
        and connection.state == ShopConnection.State.CONNECTED
        and (connection.backoff_until is None or connection.backoff_until <= now)
    )


def handle_platform_error(connection: ShopConnection, error: PlatformError) -> None:
    """What a typed platform error does to the connection (outside any transaction of the caller's)."""
    if isinstance(error, RateLimited):
        connection_back_off(connection_id=connection.pk)
    elif isinstance(error, SessionInvalid):
        connection_mark_broken(connection_id=connection.pk, message=error.message)


def _token_refresh_due(connection: ShopConnection, now) -> bool:
    return (
        connection.is_enabled
        and connection.state == ShopConnection.State.CONNECTED
        and connection.token_expires_at is not None
        and connection.token_expires_at <= now + TOKEN_REFRESH_WINDOW
        and (
            connection.token_refresh_tried_at is None or connection.token_refresh_tried_at <= now - TOKEN_REFRESH_RETRY
        )
    )


def connections_refresh_tokens(*, now=None) -> dict[int, str]:
    """Beat (with the sync, every minute): refresh each token that expires within TOKEN_REFRESH_WINDOW; the outcome
    per connection tried."""
    from marketplaces.selectors import connections_token_refresh_due

    now = now or timezone.now()
    return {
        connection_id: connection_refresh_token(connection_id=connection_id, now=now)
        for connection_id in connections_token_refresh_due(
            now=now, window=TOKEN_REFRESH_WINDOW, retry=TOKEN_REFRESH_RETRY
        )
    }


def connection_refresh_token(*, connection_id: int, now=None) -> str:
    """Ask the platform for a new access token before the shop's expires: "refreshed", "unavailable" (no verified
    refresh call or no refresh token: the manager authorises the shop again), "failed" (the platform's message is
    kept), "superseded" (a manager connected the shop meanwhile: theirs stands) or "skipped" (not due).

    Rotation safe: the syncs go on with the old token while the call runs (the platform keeps it valid until its
    own expiry); the new one replaces it in one short transaction, and only if nobody replaced it meanwhile. A
    failure stops nothing while the old token still works; once it has expired the connection is broken."""
    now = now or timezone.now()
    with transaction.atomic():
        connection = lock_objects.connection_for_update(connection_id)
        if not _token_refresh_due(connection, now):
            return "skipped"
        connection.token_refresh_tried_at = now
        connection.save(update_fields=["token_refresh_tried_at", "updated_at"])
        held_token = connection.access_token_encrypted
        refresh_token = crypto.decrypt(connection.refresh_token_encrypted) if connection.refresh_token_encrypted else ""
    adapter = get_adapter(connection.platform_code)
    refresh = getattr(adapter, "refresh_access_token", None)
    if refresh is None or not refresh_token:
        _token_not_refreshed(connection_id, _no_refresh_message(connection, refresh_token), now=now)
        return "unavailable"
    try:
        grant: TokenGrant = refresh(credentials_for(connection), refresh_token)
    except TokenRefreshUnavailable:
        _token_not_refreshed(connection_id, _no_refresh_message(connection, refresh_token), now=now)
        return "unavailable"
    except PlatformError as error:
        if isinstance(error, RateLimited):
            connection_back_off(connection_id=connection_id)
        message = _("The platform refused to refresh the token: %(message)s") % {"message": error.message}
        _token_not_refreshed(connection_id, message, now=now)
        return "failed"
    with transaction.atomic():
        connection = lock_objects.connection_for_update(connection_id)
        if connection.access_token_encrypted != held_token:
            return "superseded"
        connection.set_access_token(grant.access_token)
        connection.token_expires_at = grant.expires_at
        if grant.refresh_token:
            connection.set_refresh_token(grant.refresh_token)
        connection.token_refresh_message = ""
        connection.save(
            update_fields=[
                "access_token_encrypted",
                "refresh_token_encrypted",
                "token_expires_at",
                "token_refresh_message",
                "updated_at",
            ]
        )
    return "refreshed"


def _no_refresh_message(connection: ShopConnection, refresh_token: str) -> str:
    if not refresh_token:
        return _("No refresh token is stored: authorise the shop again before its token expires.")
    return _(
        "The desk has no verified way to refresh this platform's token: authorise the shop again before it expires."
    )


def _token_not_refreshed(connection_id: int, message: str, *, now) -> None:
    """Keep why the token was not renewed in front of the managers (the connection shows "token expiring"); a token
    already expired breaks the connection with that message."""
    with transaction.atomic():
        connection = lock_objects.connection_for_update(connection_id)
        connection.token_refresh_message = message[:1000]
        fields = ["token_refresh_message", "updated_at"]
        if connection.token_expires_at is not None and connection.token_expires_at <= now:
            connection.state = ShopConnection.State.BROKEN
            connection.broken_message = message[:1000]
            connection.broken_at = now
            fields += ["state", "broken_message", "broken_at"]
        connection.save(update_fields=fields)


def connection_rotate_secrets() -> int:
    """Re-encrypt every stored secret with the newest MARKETPLACE_SECRET_KEYS key; how many connections."""
    count = 0
    for pk in ShopConnection.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            connection = lock_objects.connection_for_update(pk)
            connection.app_secret_encrypted = crypto.rotate(connection.app_secret_encrypted)
            connection.access_token_encrypted = crypto.rotate(connection.access_token_encrypted)
            connection.refresh_token_encrypted = crypto.rotate(connection.refresh_token_encrypted)
            connection.push_secret_encrypted = crypto.rotate(connection.push_secret_encrypted)
            connection.save(
                update_fields=[
                    "app_secret_encrypted",
                    "access_token_encrypted",
                    "refresh_token_encrypted",
                    "push_secret_encrypted",
                ]
            )
            count += 1
    return count


# --- the inbound sync -----------------------------------------------------------------------------------------------


@dataclass
class SyncSummary:
    windows: int = 0
    records: int = 0
    applied: int = 0
    unchanged: int = 0
    problems: int = 0
    error: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.records += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome in {"unchanged", "stale"}:
            self.unchanged += 1
        elif outcome == "problem":
            self.problems += 1
        else:
            self.applied += 1


def _take_lease(connection_id: int, now) -> ShopConnection | None:
    with transaction.atomic():
        connection = lock_objects.connection_for_update(connection_id)
        if connection.syncing_since and connection.syncing_since > now - SYNC_LEASE:
            return None
        if not connection_may_call(connection, now=now):
            return None
        connection.syncing_since = now
        connection.save(update_fields=["syncing_since"])
        return connection


def _release_lease(connection_id: int, *, cursor=None, synced_at=None) -> None:
    with transaction.atomic():
        connection = lock_objects.connection_for_update(connection_id)
        fields = ["syncing_since"]
        connection.syncing_since = None
        if cursor is not None:
            connection.cursor = cursor
            fields.append("cursor")
        if synced_at is not None:
            connection.last_synced_at = synced_at
            connection.backoff_failures = 0
            fields += ["last_synced_at", "backoff_failures"]
        connection.save(update_fields=fields)


def _advance_cursor(connection_id: int, cursor) -> None:
    with transaction.atomic():
        connection = lock_objects.connection_for_update(connection_id)
        connection.cursor = cursor
        connection.save(update_fields=["cursor"])


def connection_sync(*, connection_id: int, now=None) -> SyncSummary:
    """Pull what the platform changed since the cursor, window by window within the platform's limits, each window
    reaching back over the last one (overlap). The cursor moves past a window only once all its records are stored,
    so a crash in the middle loses nothing (the window is asked again) and duplicates nothing (a record already
    stored at its version changes nothing)."""
    now = now or timezone.now()
    summary = SyncSummary()
    connection = _take_lease(connection_id, now)
    if connection is None:
        summary.error = "busy, paused or broken"
        return summary
    adapter = get_adapter(connection.platform_code)
    credentials = credentials_for(connection)
    horizon = now - PULL_LAG
    # A platform that lists by creation sees an older open record only if a first sync reaches back to its creation.
    lookback = getattr(adapter, "first_sync_lookback", FIRST_SYNC_LOOKBACK)
    cursor = connection.cursor or (now - lookback)
    window = timedelta(seconds=adapter.pull_window_max_seconds)
    overlap = timedelta(seconds=adapter.pull_overlap_seconds)
    finished = False
    try:
        while summary.windows < MAX_WINDOWS_PER_RUN and cursor < horizon:
            start = cursor - overlap
            end = min(start + window, horizon)
            page = 1
            while True:
                result = adapter.pull(credentials, start=start, end=end, page=page)  # outside any transaction
                for outcome in records_apply(connection=connection, records=result.records):
                    summary.count(outcome)
                if not result.has_more:
                    break
                page = result.next_page or page + 1
            summary.windows += 1
            cursor = end
            _advance_cursor(connection.pk, cursor)
        if getattr(adapter, "pull_by_creation_time", False):
            for outcome in records_refresh_open(connection=connection, credentials=credentials, now=now):
                summary.count(outcome)
        finished = True
    except PlatformError as error:
        summary.error = f"{type(error).__name__}: {error.message}"
        handle_platform_error(connection, error)
    finally:
        _release_lease(connection.pk, synced_at=timezone.now() if finished else None)
    retry_problems(connection=connection)
    return summary


# A platform whose list filters by creation (WeChat shop) does not list a change to an older record: the sync re-reads
# the records still open that it has not looked at for this long, at most this many per run, oldest look first.
REFRESH_OPEN_AFTER = timedelta(minutes=30)
REFRESH_OPEN_PER_RUN = 200


def records_refresh_open(*, connection: ShopConnection, credentials: Credentials, now) -> list[str]:
    """Re-read the connection's open records the desk has not looked at for REFRESH_OPEN_AFTER and apply them: the
    safety net under the push for a platform whose pull cannot see changes to older records. A record's
    `updated_at` says when the desk last looked at it, so the next run reads others. PlatformError propagates."""
    adapter = get_adapter(connection.platform_code)
    stale = list(
        PlatformRecord.objects.filter(connection=connection, updated_at__lt=now - REFRESH_OPEN_AFTER)
        .exclude(status__in=[status.value for status in FINAL])
        .order_by("updated_at", "pk")
        .values_list("pk", "platform_id")[:REFRESH_OPEN_PER_RUN]
    )
    outcomes = []
    for pk, platform_id in stale:
        try:
            record = adapter.read(credentials, platform_id)  # outside any transaction
        except BusinessRefusal as refusal:
            # This record alone (gone, say): looked at, kept as it was, the others still read; a rate limit or a
            # broken session stops the run.
            logger.warning("re-reading %s refused: %s", platform_id, refusal.message)
        else:
            outcomes.append(record_apply(connection=connection, record=record))
        PlatformRecord.objects.filter(pk=pk).update(updated_at=timezone.now())
    return outcomes


def push_receive(*, connection: ShopConnection, headers: dict, body: bytes) -> SyncSummary:
    """A verified push: each message's record, applied. A push that carries no version (Taobao's TMC) is read again
    from the platform first, and what the platform answers then is what is applied. SignatureInvalid propagates."""
    adapter = get_adapter(connection.platform_code)
    credentials = credentials_for(connection)
    messages = adapter.verify_push(credentials, headers=headers, body=body)
    summary = SyncSummary()
    for message in messages:
        record = message.record
        if record is None:
            if not connection_may_call(connection):
                summary.error = "paused or broken: the next pull will bring it"
                continue
            try:
                record = adapter.read(credentials, message.platform_id)
            except PlatformError as error:
                # The pull brings this record later; the push is acknowledged so the platform does not flood us.
                summary.error = f"{type(error).__name__}: {error.message}"
                handle_platform_error(connection, error)
                continue
        summary.count(record_apply(connection=connection, record=record))
    return summary


def push_message_apply(*, connection: ShopConnection, message: PushMessage) -> bool:
    """One push message that names a record (PDD's PMC: its payload is not verified, so nothing in it is acted on):
    the record is read from the platform and applied. True once applied, so the caller acknowledges it; False when
    it could not be read now (paused, broken, the platform's error): not acknowledged, the platform sends it again
    and the pull brings it anyway."""
    if not connection_may_call(connection):
        return False
    adapter = get_adapter(connection.platform_code)
    try:
        record = message.record or adapter.read(credentials_for(connection), message.platform_id)
    except PlatformError as error:
        handle_platform_error(connection, error)
        logger.info("push %s for %s not applied: %s", message.message_id, message.platform_id, error.message)
        return False
    record_apply(connection=connection, record=record)
    return True


# --- one record -----------------------------------------------------------------------------------------------------


def _version_key(modified_at, version: str) -> tuple:
    return (modified_at, int(version) if version.isdigit() else 0, version)


def record_apply(*, connection: ShopConnection, record: AfterSaleRecord, force: bool = False) -> str:
    """Store the record if it is newer than the stored one, and move its ticket. Outcomes: opened, moved, unchanged
    (same version), stale (an older version: nothing changes), problem (stored, not applied: `problem` says why).
    Refunds the platform confirmed are settled after the transaction (the gateway may ask the platform)."""
    settle: list[int] = []
    with transaction.atomic():
        row = lock_objects.platform_record_for_update(connection.pk, record.platform_id)
        if row is not None and not force:
            stored, incoming = (
                _version_key(row.modified_at, row.version),
                _version_key(record.modified_at, record.version),
            )
            if incoming == stored:
                return "unchanged"
            if incoming < stored:
                return "stale"
        previous_status = row.status if row else ""
        if row is None:
            row = PlatformRecord(connection=connection, platform_id=record.platform_id)
        _copy(row, record)
        row.problem = ""
        row.save()
        try:
            # Each ticket service runs in its own savepoint: a refused move undoes itself alone, the record and any
            # move before it stay.
            outcome = _apply_to_ticket(connection, row, record, previous_status, settle)
        except ActionRefused as refusal:
            row.problem = _refusal_problem(refusal)
            outcome = "problem"
        if row.problem:
            row.save(update_fields=["problem", "updated_at"])
            outcome = "problem"
    for refund_id in settle:
        try:
            refund_settle(refund_id=refund_id)
        except Exception:
            logger.warning("could not settle refund %s after the platform's confirmation", refund_id, exc_info=True)
    return outcome


# A new record in one of these statuses does nothing but open its ticket: _move has no step for it on a requested
# ticket. A final one is opened with them and then moved to its end (_records_open). Any other status moves the ticket
# after opening it, one record at a time.
OPENS_ONLY = {RecordStatus.WAITING_SELLER}


def records_apply(*, connection: ShopConnection, records: Sequence[AfterSaleRecord]) -> list[str]:
    """A pulled page: the outcome of record_apply for each record, in their order. The page's new requests (a
    platform id never stored, no ticket yet, waiting for the seller or already final) are stored and opened together
    in one transaction (_records_open), in a fixed number of queries (a 双11 morning is almost only these); every
    other record (a newer version of a stored one, a record that moves a ticket) goes through record_apply, one by
    one, after the batch commits. So that the order of the page cannot matter, a record shares neither its platform
    id nor its order with any other record of the page to be batched. If a push stored one of the batch's records
    meanwhile, the batch is rolled back whole and the page is applied one by one."""
    outcomes: list[str | None] = [None] * len(records)
    platform_ids = Counter(record.platform_id for record in records)
    order_ids = Counter(record.order_id for record in records)
    batch = [
        index
        for index, record in enumerate(records)
        if (record.status in OPENS_ONLY or record.status in FINAL)
        and platform_ids[record.platform_id] == 1
        and order_ids[record.order_id] == 1
    ]
    if batch:
        try:
            with transaction.atomic():
                opened = _records_open(connection, [records[index] for index in batch])
        except IntegrityError:
            logger.info("a record of the page was stored meanwhile: the page is applied one by one")
            opened = [None] * len(batch)
        for index, outcome in zip(batch, opened, strict=True):
            outcomes[index] = outcome
    return [
        outcome if outcome is not None else record_apply(connection=connection, record=record)
        for record, outcome in zip(records, outcomes, strict=True)
    ]


def _records_open(connection: ShopConnection, records: list[AfterSaleRecord]) -> list[str | None]:
    """Store new records and open their tickets (tickets_open_bulk: the same rows, events and rules as one by one);
    call inside a transaction. The outcome of each, or None for one this batch leaves to record_apply (stored
    already, or its ticket exists)."""
    shop = connection.shop
    ids = [record.platform_id for record in records]
    taken = set(
        PlatformRecord.objects.filter(connection=connection, platform_id__in=ids).values_list("platform_id", flat=True)
    )
    taken |= set(
        AfterSalesTicket.objects.filter(shop=shop, platform_ticket_id__in=ids).values_list(
            "platform_ticket_id", flat=True
        )
    )
    records = [record for record in records if record.platform_id not in taken]
    to_open = records
    orders = {
        order.platform_order_id: order
        for order in Order.objects.filter(shop=shop, platform_order_id__in=[record.order_id for record in to_open])
    }
    reasons: dict[str, ReturnReason] = {}
    requests: list[OpenRequest] = []
    placed: list[AfterSaleRecord] = []
    for record in to_open:
        order = orders.get(record.order_id)
        if order is None:
            continue
        order.shop = shop  # loaded with the connection, with its platform
        if record.reason not in reasons:
            reasons[record.reason] = reason_for(record.reason)
        requests.append(_open_request(record, order, reasons[record.reason]))
        placed.append(record)
    opened = dict(
        zip(
            (record.platform_id for record in placed),
            tickets_open_bulk(requests=requests, by=system_user()),
            strict=True,
        )
    )
    rows: list[PlatformRecord] = []
    outcome_of: dict[str, str] = {}
    for record in records:
        row = PlatformRecord(connection=connection, platform_id=record.platform_id)
        _copy(row, record)
        result = opened.get(record.platform_id)
        if result is None:
            row.problem = _order_missing(record)
            outcome_of[record.platform_id] = "problem"
        elif result.refusal is not None:
            row.problem = _refusal_problem(result.refusal)
            outcome_of[record.platform_id] = "problem"
        elif result.opened:
            # Opened with the record's deadline and reason; a waiting request moves nothing further (_move).
            row.ticket = result.ticket
            outcome_of[record.platform_id] = "opened"
        else:
            continue  # a push opened it meanwhile: record_apply moves that ticket
        rows.append(row)
    PlatformRecord.objects.bulk_create(rows)
    _finish_final(rows, {record.platform_id: record for record in records}, outcome_of)
    return [outcome_of.get(platform_id) for platform_id in ids]


def _finish_final(rows: list[PlatformRecord], record_of: dict[str, AfterSaleRecord], outcome_of: dict) -> None:
    """The batch's records that were already final when first seen: their just-opened tickets go to their end as
    record_apply takes them (_move), each in its own savepoint; a refused move stays on its record as a problem."""
    system = None
    for row in rows:
        record = record_of[row.platform_id]
        if row.ticket is None or record.status not in FINAL:
            continue
        system = system or system_user()
        try:
            _move(row.ticket, record, system, [], just_opened=True)
        except ActionRefused as refusal:
            row.problem = _refusal_problem(refusal)
            row.save(update_fields=["problem", "updated_at"])
            outcome_of[row.platform_id] = "problem"


def _open_request(record: AfterSaleRecord, order: Order, reason: ReturnReason) -> OpenRequest:
    return OpenRequest(
        order=order,
        kind=ticket_kind_for(record.kind),
        reason=reason,
        requested_amount=min(record.amount, order.refundable_amount) if record.amount > 0 else None,
        buyer_message=record.buyer_message or record.reason,
        platform_ticket_id=record.platform_id,
        opened_at=record.applied_at,
        platform_deadline=record.deadline,
        platform_kind=record.platform_kind or str(record.kind),
        apply_rules=record.status not in FINAL,
    )


def _refusal_problem(refusal: ActionRefused) -> str:
    """Why a record was not applied, as the desk refused it, kept short on its row."""
    return str(refusal.message)[:1000]


def _order_missing(record: AfterSaleRecord) -> str:
    return _("The order %(id)s is not in the desk yet.") % {"id": record.order_id}


def _copy(row: PlatformRecord, record: AfterSaleRecord) -> None:
    row.order_id = record.order_id[:64]
    row.sub_order_id = record.sub_order_id[:64]
    row.kind = record.kind
    row.status = record.status
    row.platform_kind = record.platform_kind[:40]
    row.platform_status = record.platform_status[:60]
    row.version = record.version[:64]
    row.modified_at = record.modified_at
    row.applied_at = record.applied_at
    row.amount = record.amount
    row.reason = record.reason[:200]
    row.deadline = record.deadline
    row.return_courier = record.return_courier[:60]
    row.return_tracking_number = record.return_tracking_number[:60]
    row.ruling = record.ruling
    row.raw = record.raw


def record_from_row(row: PlatformRecord) -> AfterSaleRecord:
    return AfterSaleRecord(
        platform_id=row.platform_id,
        order_id=row.order_id,
        sub_order_id=row.sub_order_id,
        kind=RecordKind(row.kind),
        status=RecordStatus(row.status),
        version=row.version,
        modified_at=row.modified_at,
        applied_at=row.applied_at,
        amount=row.amount,
        reason=row.reason,
        buyer_message=str((row.raw or {}).get("desc", "") or ""),
        platform_kind=row.platform_kind,
        platform_status=row.platform_status,
        deadline=row.deadline,
        return_courier=row.return_courier,
        return_tracking_number=row.return_tracking_number,
        ruling=Ruling(row.ruling or ""),
        raw=row.raw or {},
    )


def retry_problems(*, connection: ShopConnection, limit: int = 200) -> int:
    """Records not applied yet (their order was not imported, say) are tried again; how many now applied."""
    applied = 0
    for row in PlatformRecord.objects.filter(connection=connection).exclude(problem="").order_by("modified_at")[:limit]:
        if record_apply(connection=connection, record=record_from_row(row), force=True) != "problem":
            applied += 1
    return applied


def ticket_kind_for(kind: RecordKind) -> str:
    """The ticket kind a platform type opens: RecordKind and TicketKind share their values (refund only, return and
    refund, exchange 换货, reship 补寄, repair 维修, price protection 价保, unknown). An unknown type opens an UNKNOWN
    ticket that no automatic rule refunds, with the platform's own type code in front of the agent: never dropped."""
    return TicketKind(kind.value)


FINAL = {RecordStatus.SUCCEEDED, RecordStatus.CLOSED, RecordStatus.CLOSED_BY_BUYER}
# A success of these is not a refund (the goods were exchanged, reshipped, repaired).
NO_REFUND_KINDS = {TicketKind.EXCHANGE, TicketKind.RESHIP, TicketKind.REPAIR}


def _apply_to_ticket(
    connection: ShopConnection, row: PlatformRecord, record: AfterSaleRecord, previous_status: str, settle: list[int]
) -> str:
    system = system_user()
    shop = connection.shop
    ticket = row.ticket
    outcome = "moved"
    if ticket is None:
        ticket = AfterSalesTicket.objects.filter(shop=shop, platform_ticket_id=record.platform_id).first()
    if ticket is None:
        # A record already final when the desk first sees it (settled between two pulls, the platform's timeout, a
        # first sync's history) opens its ticket too, with the platform's application time, and _move takes it to
        # its end: the platform's speed metrics count it, so the desk's do. No automatic rule acts on it.
        order = Order.objects.filter(shop=shop, platform_order_id=record.order_id).first()
        if order is None:
            row.problem = _order_missing(record)
            return "problem"
        ticket, opened = ticket_open_or_find(by=system, **vars(_open_request(record, order, reason_for(record.reason))))
        outcome = "opened" if opened else "moved"
    row.ticket = ticket
    row.save(update_fields=["ticket", "updated_at"])
    ticket.refresh_from_db()
    if record.deadline is not None and ticket.deadline != record.deadline and ticket.is_open:
        ticket_set_platform_deadline(ticket=ticket, by=system, deadline=record.deadline)
        ticket.refresh_from_db()
    if record.reason:
        reason = reason_for(record.reason)
        if reason.pk != ticket.reason_id and record.status not in FINAL and outcome != "opened":
            ticket = ticket_change_reason(
                ticket=ticket, by=system, reason=reason, note=_("Changed by the buyer on the platform.")
            )
    _move(ticket, record, system, settle, just_opened=outcome == "opened")
    return outcome


def _move(
    ticket: AfterSalesTicket, record: AfterSaleRecord, system, settle: list[int], *, just_opened: bool = False
) -> None:
    state = ticket.state
    status = record.status
    S = TicketState
    if status == RecordStatus.WAITING_BUYER_RETURN and state == S.REQUESTED:
        ticket_agree_return(ticket=ticket, by=system, note=_("Agreed on the platform."))
    elif status == RecordStatus.RETURN_SHIPPED and record.return_tracking_number:
        if state == S.REQUESTED:
            ticket = ticket_agree_return(ticket=ticket, by=system, note=_("Agreed on the platform."))
        if ticket.state == S.AWAITING_RETURN:
            ticket_return_shipped(
                ticket=ticket,
                by=system,
                courier_code=record.return_courier[:20],
                tracking_number=record.return_tracking_number,
            )
    elif status == RecordStatus.PLATFORM_REVIEW and state in (S.REQUESTED, S.REJECTED):
        ticket_escalate_to_platform(ticket=ticket, by=system, note=_("The platform stepped in (平台介入)."))
    elif status == RecordStatus.SELLER_REFUSED and state == S.REQUESTED:
        ticket_reject(ticket=ticket, by=system, note=_("Refused on the platform."))
    elif status == RecordStatus.SUCCEEDED:
        _succeeded(ticket, record, system, settle, just_opened=just_opened)
    elif status in (RecordStatus.CLOSED, RecordStatus.CLOSED_BY_BUYER):
        if state == S.PLATFORM_REVIEW:
            _ruling(ticket, record, system, for_buyer=False)
        elif state == S.REJECTED:
            ticket_close(ticket=ticket, by=system, note=_("Closed on the platform."))
        elif state in (S.REQUESTED, S.AWAITING_RETURN):
            ticket_withdraw(ticket=ticket, by=system, note=_("Closed by the buyer on the platform."))
    elif status == RecordStatus.UNKNOWN:
        tickets_flag_for_agent(
            ticket_ids=[ticket.pk],
            by=system,
            note=_("The platform shows a status the desk does not know: %(status)s.")
            % {"status": record.platform_status},
        )


def _ruling(ticket, record: AfterSaleRecord, system, *, for_buyer: bool) -> None:
    ticket_platform_ruling(
        ticket=ticket,
        by=system,
        for_buyer=for_buyer,
        case_number=record.platform_id[:64],
        evidence=_("The platform's record %(id)s: %(status)s at %(at)s.")
        % {
            "id": record.platform_id,
            "status": record.platform_status,
            "at": timezone.localtime(record.modified_at).strftime("%Y-%m-%d %H:%M:%S"),
        },
        note=_("Ruled on the platform."),
    )


def _succeeded(ticket, record: AfterSaleRecord, system, settle: list[int], *, just_opened: bool = False) -> None:
    """The platform says the money went back: the desk's refunds waiting for it are settled (their gateway reads the
    platform's word); a ruling for the buyer is recorded, its refund through the gate. A refund the desk never sent
    (the platform's timeout agreed, someone refunded in its back office, or the record was final before the desk saw
    it) is recorded as the platform's fact with its amount, nothing paid, and the ticket is refunded; unless the
    ticket was just opened for it, it is flagged so that nobody pays it again."""
    if ticket.state == TicketState.PLATFORM_REVIEW:
        _ruling(ticket, record, system, for_buyer=True)
    waiting = list(
        Refund.objects.filter(ticket=ticket, status__in=(Refund.Status.PENDING, Refund.Status.SENT))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if waiting:
        settle.extend(waiting)
        return
    ticket.refresh_from_db()
    if ticket.state in (TicketState.REFUNDED, TicketState.REFUNDING):
        return
    if ticket.refunds.filter(status=Refund.Status.SUCCEEDED).exists():
        return
    amount = record.refunded_amount if record.refunded_amount is not None else record.amount
    if ticket.kind in NO_REFUND_KINDS or ticket.state == TicketState.AWAITING_APPROVAL:
        # An exchange, reship or repair the platform finished is the agent's to close by its own move; a request
        # waiting for a supervisor is declined by them, seeing this.
        note = _("The platform says this request succeeded (¥%(amount)s refunded there): check it, pay nothing.")
    else:
        ticket_record_platform_refund(
            ticket=ticket,
            by=system,
            amount=amount,
            reference=f"{record.platform_id}@{record.version}",
            note=_("The platform refunded ¥%(amount)s itself (%(status)s); recorded, nothing paid by the desk.")
            % {"amount": amount, "status": record.platform_status},
        )
        if just_opened:
            return
        note = _(
            "The platform says ¥%(amount)s was refunded, but the desk sent no refund for it (the platform's timeout "
            "or its back office): it is recorded as refunded. Do not pay it again."
        )
    tickets_flag_for_agent(ticket_ids=[ticket.pk], by=system, note=note % {"amount": amount})
