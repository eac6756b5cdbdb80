"""Inspecting a received return (验货): a clean one refunds at once (an exchange resolves), an abnormal one goes back
to the agent with its evidence. Evidence is judged by its bytes, stored under MEDIA_ROOT only once every rule said
yes, and a refused inspection writes nothing: no rows, no files."""

import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max
from django.utils import translation
from PIL import Image

from aftersales.models import AfterSalesTicket, Refund, TicketEvent, TicketKind, TicketState
from aftersales.selectors import system_user
from aftersales.services import ticket_agree_return, ticket_return_shipped
from desk.errors import ActionRefused
from tests.factories import OrderLineFactory, ShopFactory, delivered_order, make_staff, open_ticket
from warehouse.models import Evidence, Inspection, InspectionLine, ReturnParcel
from warehouse.services import (
    inspection_record,
    return_parcel_record_scan,
    return_receive_scan,
    return_register_unexpected,
)

pytestmark = pytest.mark.django_db

S = TicketState
ABNORMAL = ["damaged", "missing_items", "swapped", "used"]
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00\x00\x00\x00mp42isom" + b"\x00" * 200


@pytest.fixture(autouse=True)
def _english():
    """The services translate a refusal when they raise it; the messages here are checked in English."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Every test stores evidence in its own MEDIA_ROOT, apart from STATIC_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def shop():
    return ShopFactory(name="A店")


@pytest.fixture
def clerk(shop):
    return make_staff("clerk", role="Warehouse", shops=[shop])


def received_return(shop, clerk, *, kind=TicketKind.RETURN_REFUND, tracking_number="ZT75310001") -> ReturnParcel:
    """A two-piece order (¥129) whose return the clerk has just scanned."""
    order = delivered_order(shop=shop, paid_amount=Decimal("129.00"))
    OrderLineFactory(order=order, sku="TEE-BLK-M", quantity=2, paid_amount=Decimal("129.00"))
    ticket = open_ticket(order, kind=kind)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number=tracking_number)
    parcel = return_receive_scan(tracking_number=tracking_number, by=clerk).parcel
    assert reload(ticket).state == S.RECEIVED
    return parcel


def reload(ticket) -> AfterSalesTicket:
    return AfterSalesTicket.objects.select_related("order", "shop").get(pk=ticket.pk)


def jpeg(name="opened.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    # The browser's content type is the uploader's claim; the service must not believe it.
    return SimpleUploadedFile(name, content, content_type=content_type)


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in Path(root).rglob("*") if path.is_file()) if Path(root).exists() else []


def event_mark() -> int:
    return TicketEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def events_since(ticket, mark) -> list[tuple]:
    events = TicketEvent.objects.filter(ticket=ticket, pk__gt=mark).select_related("actor").order_by("pk")
    return [(event.action, event.actor.username, event.from_state, event.to_state) for event in events]


def everything(media: Path) -> dict:
    """What a refused inspection must leave as it was: parcels, tickets, money, events and the stored files."""
    return {
        "parcels": list(ReturnParcel.objects.order_by("pk").values_list("pk", "status", "inspected_at")),
        "tickets": list(AfterSalesTicket.objects.order_by("pk").values_list("pk", "state", "attention_note")),
        "inspections": list(Inspection.objects.order_by("pk").values_list("pk", flat=True)),
        "lines": list(InspectionLine.objects.order_by("pk").values_list("pk", flat=True)),
        "evidence": list(Evidence.objects.order_by("pk").values_list("pk", flat=True)),
        "refunds": list(Refund.objects.order_by("pk").values_list("pk", flat=True)),
        "events": list(TicketEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "files": files_under(media),
    }


def refused(code: str, media: Path, call) -> ActionRefused:
    """Assert `call` is refused with `code` and writes nothing; return the refusal for its message."""
    before = everything(media)
    with pytest.raises(ActionRefused) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert everything(media) == before
    return caught.value


# --- a clean inspection ---------------------------------------------------------------------------------------------


def test_a_clean_inspection_refunds_the_requested_amount_in_full_at_once(shop, clerk):
    parcel = received_return(shop, clerk)
    line = parcel.ticket.order.lines.get()
    mark = event_mark()

    inspection = inspection_record(
        parcel=parcel, by=clerk, result="ok", notes="吊牌完好", quantities={str(line.pk): 2}, files=[jpeg()]
    )

    assert (inspection.result, inspection.inspected_by, inspection.notes) == ("ok", clerk, "吊牌完好")
    assert list(inspection.lines.values_list("order_line", "quantity_received")) == [(line.pk, 2)]
    parcel.refresh_from_db()
    assert (parcel.status, parcel.inspected_at) == ("inspected", inspection.inspected_at)
    ticket = reload(parcel.ticket)
    assert ticket.state == S.REFUNDING
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.status, refund.kind, refund.amount, refund.requested_by) == (
        "pending",
        "full",
        Decimal("129.00"),
        system_user(),  # the shop's automatic cap pays it; the clerk only recorded the fact
    )
    assert events_since(ticket, mark) == [("inspection_passed", "clerk", "received", "refunding")]
    assert inspection.evidence.count() == 1


def test_a_clean_inspection_needs_no_evidence(shop, clerk, media):
    parcel = received_return(shop, clerk)

    inspection_record(parcel=parcel, by=clerk, result="ok")

    assert reload(parcel.ticket).state == S.REFUNDING
    assert files_under(media) == []


def test_a_clean_inspection_of_an_exchange_resolves_it_without_a_refund(shop, clerk):
    parcel = received_return(shop, clerk, kind=TicketKind.EXCHANGE)
    mark = event_mark()

    inspection_record(parcel=parcel, by=clerk, result="ok")

    ticket = reload(parcel.ticket)
    assert (ticket.state, ticket.kind) == (S.RESOLVED, TicketKind.EXCHANGE)
    assert ticket.closed_at is not None
    assert not Refund.objects.exists()
    assert events_since(ticket, mark) == [("resolved_exchange", "clerk", "received", "resolved")]


# --- an abnormal inspection -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("result", ABNORMAL)
def test_an_abnormal_inspection_without_evidence_is_refused_and_writes_nothing(shop, clerk, media, result):
    parcel = received_return(shop, clerk)

    refused("evidence_required", media, lambda: inspection_record(parcel=parcel, by=clerk, result=result))

    assert ReturnParcel.objects.get().status == "received"


@pytest.mark.parametrize("result", ABNORMAL)
def test_an_abnormal_inspection_with_a_photo_puts_the_ticket_back_in_front_of_the_agent(
    shop, clerk, media, settings, result
):
    parcel = received_return(shop, clerk)
    photo = jpeg("IMG_0001.jpg")
    content = photo.read()
    photo.seek(0)
    mark = event_mark()

    inspection = inspection_record(parcel=parcel, by=clerk, result=result, notes="鞋盒内是旧鞋", files=[photo])

    ticket = reload(parcel.ticket)
    label = Inspection.Result(result).label
    assert ticket.state == S.RECEIVED
    assert ticket.attention_note == f"Inspection: {label}, 1 evidence file(s). 鞋盒内是旧鞋"
    assert events_since(ticket, mark) == [("flagged", "clerk", "received", "received")]
    assert ticket.events.get(pk__gt=mark).note == ticket.attention_note
    assert not Refund.objects.exists()
    assert ReturnParcel.objects.get().status == "inspected"
    evidence = Evidence.objects.get()
    assert evidence.inspection == inspection
    assert (evidence.kind, evidence.content_type, evidence.extension) == ("photo", "image/jpeg", "jpg")
    assert (evidence.size, evidence.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert (evidence.original_name, evidence.uploaded_by) == ("IMG_0001.jpg", clerk)
    stored = Path(evidence.file.path)
    assert stored.is_relative_to(media)
    assert not stored.is_relative_to(Path(settings.STATIC_ROOT))
    assert stored.name == f"{evidence.sha256}.jpg"
    assert stored.parent.parent.parent.name == str(shop.pk)
    assert stored.read_bytes() == content
    assert files_under(media) == [stored]


def test_the_attention_note_counts_every_evidence_file(shop, clerk):
    parcel = received_return(shop, clerk)

    inspection_record(parcel=parcel, by=clerk, result="damaged", files=[jpeg("a.jpg"), upload("box.mp4", MP4)])

    assert reload(parcel.ticket).attention_note == "Inspection: damaged, 2 evidence file(s)."
    assert Evidence.objects.count() == 2


def test_an_unboxing_video_is_stored_as_a_video(shop, clerk, media):
    parcel = received_return(shop, clerk)

    inspection_record(parcel=parcel, by=clerk, result="missing_items", files=[upload("开箱.mp4", MP4, "video/mp4")])

    evidence = Evidence.objects.get()
    assert (evidence.kind, evidence.content_type, evidence.extension, evidence.size) == (
        "video",
        "video/mp4",
        "mp4",
        len(MP4),
    )
    assert Path(evidence.file.path).read_bytes() == MP4


# --- evidence judged by its bytes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("这不是图片".encode(), id="text"),
        pytest.param(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", id="pdf"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, id="exe"),
    ],
)
def test_a_file_named_jpg_that_is_not_a_photo_or_video_is_refused(shop, clerk, media, content):
    parcel = received_return(shop, clerk)

    refusal = refused(
        "evidence_type",
        media,
        lambda: inspection_record(parcel=parcel, by=clerk, result="swapped", files=[upload("photo.jpg", content)]),
    )

    assert "photo.jpg" in refusal.message
    assert files_under(media) == []


def test_a_jpeg_header_on_garbage_is_refused_as_an_unreadable_picture(shop, clerk, media):
    parcel = received_return(shop, clerk)
    fake = upload("photo.jpg", b"\xff\xd8\xff\xe0" + b"not a picture at all " * 20)

    refusal = refused(
        "evidence_type", media, lambda: inspection_record(parcel=parcel, by=clerk, result="swapped", files=[fake])
    )

    assert refusal.message == "“photo.jpg” is not a readable picture."


def test_a_photo_above_the_size_limit_is_refused(shop, clerk, media, settings):
    settings.EVIDENCE_MAX_PHOTO_BYTES = 100
    parcel = received_return(shop, clerk)
    photo = jpeg()
    assert photo.size > 100

    refused("evidence_size", media, lambda: inspection_record(parcel=parcel, by=clerk, result="used", files=[photo]))


def test_a_video_is_held_to_the_video_limit_not_the_photo_limit(shop, clerk, settings):
    settings.EVIDENCE_MAX_PHOTO_BYTES = 100
    parcel = received_return(shop, clerk)

    inspection_record(parcel=parcel, by=clerk, result="used", files=[upload("box.mp4", MP4)])

    assert Evidence.objects.get().kind == "video"


def test_one_bad_file_among_good_ones_refuses_the_whole_inspection(shop, clerk, media):
    parcel = received_return(shop, clerk)
    files = [jpeg("good.jpg"), upload("bad.jpg", b"%PDF-1.4\n%%EOF")]

    refused("evidence_type", media, lambda: inspection_record(parcel=parcel, by=clerk, result="swapped", files=files))


# --- quantities -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantity",
    [
        pytest.param(-1, id="negative"),
        pytest.param(3, id="more-than-sold"),
        pytest.param("2", id="text"),
        pytest.param(1.5, id="fraction"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_quantity_outside_zero_to_what_was_sold_is_refused(shop, clerk, media, quantity):
    parcel = received_return(shop, clerk)
    line = parcel.ticket.order.lines.get()

    refused(
        "invalid_quantity",
        media,
        lambda: inspection_record(parcel=parcel, by=clerk, result="ok", quantities={line.pk: quantity}),
    )


def test_a_quantity_for_a_line_of_another_order_is_refused(shop, clerk, media):
    parcel = received_return(shop, clerk)
    other_line = OrderLineFactory(order=delivered_order(shop=shop), quantity=5)

    refused(
        "invalid_quantity",
        media,
        lambda: inspection_record(parcel=parcel, by=clerk, result="ok", quantities={other_line.pk: 1}),
    )


def test_zero_and_all_sold_are_valid_quantities(shop, clerk):
    parcel = received_return(shop, clerk)
    line = parcel.ticket.order.lines.get()
    second = OrderLineFactory(order=parcel.ticket.order, quantity=1)

    inspection = inspection_record(parcel=parcel, by=clerk, result="ok", quantities={line.pk: 2, second.pk: 0})

    assert sorted(inspection.lines.values_list("order_line", "quantity_received")) == [(line.pk, 2), (second.pk, 0)]


# --- who and when ---------------------------------------------------------------------------------------------------


def test_a_parcel_cannot_be_inspected_twice(shop, clerk, media):
    parcel = received_return(shop, clerk)
    inspection_record(parcel=parcel, by=clerk, result="ok")

    refused("not_received", media, lambda: inspection_record(parcel=parcel, by=clerk, result="ok"))

    assert Inspection.objects.count() == 1


def test_a_parcel_the_courier_has_not_delivered_cannot_be_inspected(shop, clerk, media):
    order = delivered_order(shop=shop)
    ticket = open_ticket(order, kind=TicketKind.RETURN_REFUND)
    ticket_agree_return(ticket=ticket, by=system_user())
    ticket_return_shipped(ticket=ticket, by=system_user(), courier_code="ZTO", tracking_number="ZT75310001")
    parcel = return_parcel_record_scan(ticket=ticket, by=make_staff("agent", role="Agent", shops=[shop]))

    refused("not_received", media, lambda: inspection_record(parcel=parcel, by=clerk, result="ok"))


def test_an_unmatched_parcel_cannot_be_inspected(shop, clerk, media):
    parcel = return_register_unexpected(tracking_number="YT90001", shop=shop, by=clerk)

    refused("unmatched", media, lambda: inspection_record(parcel=parcel, by=clerk, result="swapped", files=[jpeg()]))


def test_a_clerk_of_another_shop_cannot_inspect_the_parcel(shop, clerk, media):
    parcel = received_return(shop, clerk)
    other_clerk = make_staff("other_clerk", role="Warehouse", shops=[ShopFactory(name="B店")])

    refused("other_shop", media, lambda: inspection_record(parcel=parcel, by=other_clerk, result="ok"))


def test_an_agent_cannot_inspect_a_parcel(shop, clerk, media):
    parcel = received_return(shop, clerk)
    agent = make_staff("agent", role="Agent", shops=[shop])

    refused("not_permitted", media, lambda: inspection_record(parcel=parcel, by=agent, result="ok"))


def test_an_unknown_result_is_refused(shop, clerk, media):
    parcel = received_return(shop, clerk)

    refused("invalid_result", media, lambda: inspection_record(parcel=parcel, by=clerk, result="fine"))


# --- storage --------------------------------------------------------------------------------------------------------


def test_a_storage_failure_midway_keeps_no_evidence_and_removes_the_file_already_stored(
    shop, clerk, media, monkeypatch
):
    parcel = received_return(shop, clerk)
    original_save = FileSystemStorage._save
    saved = []

    def save_once_then_fail(storage, name, content):
        if saved:
            raise OSError("No space left on device")
        saved.append(original_save(storage, name, content))
        return saved[-1]

    monkeypatch.setattr(FileSystemStorage, "_save", save_once_then_fail)
    before = everything(media)
    files = [jpeg("first.jpg"), upload("second.mp4", MP4)]

    with pytest.raises(OSError, match="No space left"):
        inspection_record(parcel=parcel, by=clerk, result="damaged", files=files)

    assert len(saved) == 1
    assert not (media / saved[0]).exists()
    assert everything(media) == before
    assert not Evidence.objects.exists()
    assert not Inspection.objects.exists()
    assert ReturnParcel.objects.get().status == "received"


def test_a_line_id_that_is_not_a_number_is_refused_not_a_crash(shop, clerk, media):
    parcel = received_return(shop, clerk)

    refused(
        "invalid_quantity",
        media,
        lambda: inspection_record(parcel=parcel, by=clerk, result="ok", quantities={"abc": 1}),
    )


def test_the_size_refusal_names_a_limit_below_a_megabyte_readably(shop, clerk, media, settings):
    settings.EVIDENCE_MAX_PHOTO_BYTES = 100
    parcel = received_return(shop, clerk)

    refusal = refused(
        "evidence_size", media, lambda: inspection_record(parcel=parcel, by=clerk, result="used", files=[jpeg()])
    )

    assert "100" in str(refusal.message)
    assert "0 MB" not in str(refusal.message)
