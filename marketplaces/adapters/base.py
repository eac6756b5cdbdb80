"""The one interface every marketplace adapter implements, and the platform-neutral shapes it speaks.

An adapter is protocol only: it signs, calls the platform's gateway over HTTP, parses what comes back into the
shapes below and maps the platform's statuses and types onto ours. It never touches the database; the sync and
outbound services (marketplaces.services) decide what a record means for a ticket.

Errors are typed so the caller can tell them apart without reading platform codes:
- RateLimited: slow this connection down (backoff with jitter), others go on;
- SessionInvalid: the shop's token is invalid or expired; the connection is broken, its writes stop;
- BusinessRefusal: the platform understood and said no (its message reaches the agent);
- OutcomeUnknown: timeout, connection reset after sending, 5xx: the write may or may not have happened; the caller
  reads the record before anything is sent again;
- PlatformError: any other definite failure.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import httpx

# The push's URL query, as the push door hands it to verify_push among the headers (WeChat signs in the query);
# the door sets it from the request's own query, so a client cannot supply it as a header.
PUSH_QUERY_HEADER = "X-Desk-Push-Query"


class PlatformError(Exception):
    def __init__(self, message: str, *, code: str = "", sub_code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.sub_code = sub_code


class RateLimited(PlatformError):
    pass


class SessionInvalid(PlatformError):
    pass


class BusinessRefusal(PlatformError):
    pass


class OutcomeUnknown(PlatformError):
    pass


class VerificationCodeRequired(BusinessRefusal):
    """The platform wants what the desk cannot give for this write (Taobao's SMS code for a large agreement): the
    refund falls back to the shop's batch file, visibly."""


class TokenRefreshUnavailable(PlatformError):
    """The platform's token refresh call is not verified (MARKETPLACES.md names none for it): the desk does not guess
    one. The connection shows "token expiring" until a manager authorises the shop again."""


class SignatureInvalid(PlatformError):
    """A push whose signature does not verify: refused, nothing is read from it."""


class PushInvalid(SignatureInvalid):
    """A signed push whose body is not the platform's documented shape: refused as a whole like a bad signature
    (a 4xx, never a 500), nothing is read from it."""


class RecordKind(enum.StrEnum):
    """The platform's after-sales type, mapped. UNKNOWN keeps the platform's own code in `platform_kind`."""

    REFUND_ONLY = "refund_only"
    RETURN_REFUND = "return_refund"
    EXCHANGE = "exchange"
    RESHIP = "reship"
    REPAIR = "repair"
    PRICE_PROTECTION = "price_protection"
    UNKNOWN = "unknown"


class RecordStatus(enum.StrEnum):
    """Where the platform's record stands, mapped onto what the desk acts on."""

    WAITING_SELLER = "waiting_seller"  # 待商家处理 / 待卖家同意
    WAITING_BUYER_RETURN = "waiting_buyer_return"  # agreed to a return, the buyer has not shipped
    RETURN_SHIPPED = "return_shipped"  # the buyer shipped the return: courier + waybill known
    WAITING_SELLER_CONFIRM = "waiting_seller_confirm"  # goods back, the seller must confirm (二次同意)
    SELLER_REFUSED = "seller_refused"
    PLATFORM_REVIEW = "platform_review"  # 客服介入 / 仲裁 in progress
    REFUNDING = "refunding"  # agreed, money moving
    SUCCEEDED = "succeeded"  # the refund (or the exchange/reship/repair) succeeded at the platform
    CLOSED_BY_BUYER = "closed_by_buyer"  # the buyer withdrew
    CLOSED = "closed"  # closed otherwise (refusal accepted, failed, expired)
    SELLER_SHIPPING = "seller_shipping"  # exchange/reship/repair: the seller must ship
    WAITING_BUYER_RECEIPT = "waiting_buyer_receipt"  # exchange/reship/repair: shipped, the buyer must receive
    UNKNOWN = "unknown"


class Ruling(enum.StrEnum):
    NONE = ""
    FOR_BUYER = "for_buyer"
    FOR_MERCHANT = "for_merchant"


@dataclass(frozen=True)
class AfterSaleRecord:
    """One after-sales record as the platform holds it, in the desk's units (元 Decimal, aware datetimes)."""

    platform_id: str  # refund_id / aftersale_id
    order_id: str  # the platform's order number (tid / order_id / order_sn)
    kind: RecordKind
    status: RecordStatus
    version: str  # what orders versions: refund_version / update_time; compared as (modified_at, version)
    modified_at: datetime
    applied_at: datetime
    amount: Decimal  # what the buyer asks back, 元
    reason: str = ""
    buyer_message: str = ""
    platform_kind: str = ""  # the platform's own type code, kept for UNKNOWN and display
    platform_status: str = ""  # the platform's own status code
    deadline: datetime | None = None  # the platform's current deadline for the party it waits on
    return_courier: str = ""  # the buyer's return courier (code or name, as the platform gives it)
    return_tracking_number: str = ""
    ruling: Ruling = Ruling.NONE
    refunded_amount: Decimal | None = None  # what the platform says it paid back, when it succeeded
    sub_order_id: str = ""  # oid / 商品单
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PullPage:
    records: list[AfterSaleRecord]
    has_more: bool
    next_page: int | None = None


@dataclass(frozen=True)
class PushMessage:
    """One verified push message; `record` is filled when the push carries enough to act on, otherwise the caller
    reads the record by `platform_id` (Taobao's TMC carries no version)."""

    message_id: str
    topic: str
    shop_id: str
    platform_id: str
    record: AfterSaleRecord | None = None


@dataclass(frozen=True)
class RefundAgreement:
    platform_id: str
    amount: Decimal  # 元
    version: str
    phase: str = ""  # Tmall's refund_phase (onsale / aftersale)


@dataclass(frozen=True)
class AgreementResult:
    platform_id: str
    succeeded: bool
    message: str = ""


@dataclass(frozen=True)
class ReturnAddress:
    address_id: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class ReturnReceipt:
    """What the warehouse found when a return arrived, for a platform that wants it registered (JD's receive register
    with its packing and quality states, PDD's warehouse status)."""

    received_at: datetime
    packing_intact: bool  # the outer packing as it arrived
    quality_ok: bool  # the inspection's verdict: resellable / as described
    note: str = ""
    tracking_number: str = ""


@dataclass(frozen=True)
class TokenGrant:
    """A new access token from a refresh. The old one keeps working at the platform until its own expiry, so a sync
    holding it finishes while the new one is stored."""

    access_token: str
    expires_at: datetime
    refresh_token: str = ""  # empty: the platform keeps the same refresh token


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_secret: str
    access_token: str  # Taobao's session / Douyin's access_token
    shop_id: str  # the platform's id of the shop
    is_tmall: bool = False
    # Where the platform's gateway answers: its production URL, or the local simulator (make run, the tests).
    gateway_url: str = ""
    timeout_seconds: float = 10.0
    # A platform's push secrets where they differ from the app secret (WeChat's Token and EncodingAESKey, as JSON);
    # empty for platforms that sign pushes with the app secret.
    push_secret: str = ""


class MarketplaceAdapter(Protocol):
    platform_code: str  # aftersales.Platform.Code value
    pull_window_max_seconds: int  # the widest window one pull may ask for
    pull_overlap_seconds: int  # how far each window reaches back over the last one
    # True where the platform wants the seller to register a received return (JD, PDD): the outbox then sends
    # `register_return_received` after the warehouse's receipt; elsewhere that method is never called.
    registers_returns_received: bool

    def pull(self, credentials: Credentials, *, start: datetime, end: datetime, page: int) -> PullPage:
        """One page of the records modified in [start, end]; `page` counts from 1 (an adapter whose platform counts
        from 0, like 抖店, converts)."""
        ...

    def verify_push(self, credentials: Credentials, *, headers: dict[str, str], body: bytes) -> list[PushMessage]:
        """Raise SignatureInvalid when the push is not the platform's."""
        ...

    def read(self, credentials: Credentials, platform_id: str) -> AfterSaleRecord: ...

    def agree_refunds(self, credentials: Credentials, agreements: list[RefundAgreement]) -> list[AgreementResult]:
        """Agree as many refunds as one call allows; the caller splits by `batch_limits`."""
        ...

    def batch_limits(self, credentials: Credentials) -> tuple[int, Decimal]:
        """(most refunds, most 元) one agree call may carry."""
        ...

    def agree_return(self, credentials: Credentials, record: AfterSaleRecord, address: ReturnAddress) -> None: ...

    def refuse(
        self, credentials: Credentials, record: AfterSaleRecord, *, reason: str, evidence: list[bytes]
    ) -> None: ...

    def request_intercept(
        self, credentials: Credentials, record: AfterSaleRecord, *, courier: str, tracking_number: str
    ) -> None: ...

    def report_cutoff(
        self, credentials: Credentials, record: AfterSaleRecord, *, succeeded: bool, at: datetime, message: str = ""
    ) -> None: ...

    def send_message(
        self, credentials: Credentials, record: AfterSaleRecord, *, text: str, images: list[bytes]
    ) -> None: ...

    def register_return_received(
        self, credentials: Credentials, record: AfterSaleRecord, receipt: ReturnReceipt
    ) -> None: ...

    # Optional: `refresh_access_token(credentials, refresh_token) -> TokenGrant`. An adapter without it, or one that
    # raises TokenRefreshUnavailable, leaves the shop to be authorised again by a manager (services.connection_refresh
    # _token reads it with getattr, so an adapter written before it needs no change).


def split_agreements(agreements: list[RefundAgreement], limits: tuple[int, Decimal]) -> list[list[RefundAgreement]]:
    """Agreements in calls each within (most refunds, most 元) of `batch_limits`; one refund above the amount limit
    goes alone (the platform then answers for it)."""
    most, most_amount = limits
    batches: list[list[RefundAgreement]] = []
    current: list[RefundAgreement] = []
    total = Decimal(0)
    for agreement in agreements:
        if current and (len(current) >= most or total + agreement.amount > most_amount):
            batches.append(current)
            current, total = [], Decimal(0)
        current.append(agreement)
        total += agreement.amount
    if current:
        batches.append(current)
    return batches


# --- what several platforms share ---------------------------------------------------------------------------------

CENT = Decimal("0.01")


def fen_to_yuan(fen: int) -> Decimal:
    """Whole 分 (抖店's amounts, WeChat shop's refund_info.amount) as 元; each adapter calls it from its one place."""
    return (Decimal(int(fen)) / 100).quantize(CENT)


def yuan_to_fen(yuan: Decimal) -> int:
    """元 as whole 分 for a platform that takes 分; a fraction of a 分 is refused, never rounded away."""
    fen = Decimal(yuan) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{yuan} is not a whole number of fen")
    return int(fen)


def post_for_json_object(client: httpx.Client, url: str, *, what: str, write: bool = True, **request) -> dict:
    """POST to a platform's gateway and return its answer as a JSON object, or base.py's typed error.

    Not reached (nothing was sent): PlatformError. Sent without an answer, a 5xx, or an answer that is not a JSON
    object: for a write OutcomeUnknown (the platform may have acted; the caller reads the record before anything is
    sent again), for a read PlatformError. Another 4xx: PlatformError. The platform's own error codes inside the
    object are the adapter's to read."""
    unclear = OutcomeUnknown if write else PlatformError
    try:
        response = client.post(url, **request)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise PlatformError(f"{what}: unreachable ({error.__class__.__name__})", code="unreachable") from None
    except httpx.TransportError as error:
        raise unclear(f"{what}: {error.__class__.__name__}", code="transport") from None
    if response.status_code >= 500:
        raise unclear(f"{what}: HTTP {response.status_code}", code=str(response.status_code))
    if response.status_code >= 400:
        raise PlatformError(f"{what}: HTTP {response.status_code}", code=str(response.status_code))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise unclear(f"{what}: the answer is not a JSON object", code="not_json")
    return answer
