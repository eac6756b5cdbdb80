"""Logistics writes, one module per subject; import them from here."""

from logistics.services.claims import (
    ClaimSettlementRow,
    ClaimSettlementSummary,
    claim_review_done,
    claims_apply_settlement,
    claims_file_not_back,
    claims_not_back,
    claims_register_for_courier_liability,
    claims_register_waiting_return,
    claims_submit,
    claims_withdraw_parcel_back,
)
from logistics.services.common import month_of
from logistics.services.intercepts import (
    intercept_confirm,
    intercept_fail,
    intercept_mark_returned,
    intercept_refund_early,
    intercept_request,
    intercepts_flag_overdue,
    intercepts_open_for_waiting_tickets,
)
from logistics.services.kuaidi100 import (
    kuaidi100_intercept_callback_record,
    kuaidi100_intercept_send,
    kuaidi100_intercepts_send_pending,
)
from logistics.services.lost import (
    LostCheckResult,
    lost_parcel_remedy,
    lost_parcels_remedy_pending,
    shipments_declare_lost,
)
from logistics.services.shipments import (
    courier_agreement_upsert,
    courier_agreements_rotate_secrets,
    courier_upsert,
    outbound_shipment_for,
    return_shipments_sync_from_tickets,
    shipment_dispatch,
    shipments_create_for_orders,
    shipments_sync_from_orders,
)
from logistics.services.team_alerts import (
    team_lead_alert_hand_over,
    team_lead_alert_notify,
    team_lead_alerts_hand_over_pending,
)
from logistics.services.tracking import IngestResult, Scan, tracking_ingest

__all__ = [
    "team_lead_alert_hand_over",
    "team_lead_alert_notify",
    "team_lead_alerts_hand_over_pending",
    "ClaimSettlementRow",
    "ClaimSettlementSummary",
    "IngestResult",
    "LostCheckResult",
    "Scan",
    "claim_review_done",
    "claims_apply_settlement",
    "claims_file_not_back",
    "claims_not_back",
    "claims_register_for_courier_liability",
    "claims_register_waiting_return",
    "claims_submit",
    "claims_withdraw_parcel_back",
    "courier_agreement_upsert",
    "courier_agreements_rotate_secrets",
    "courier_upsert",
    "intercept_confirm",
    "intercept_fail",
    "intercept_mark_returned",
    "intercept_refund_early",
    "intercept_request",
    "intercepts_flag_overdue",
    "intercepts_open_for_waiting_tickets",
    "kuaidi100_intercept_callback_record",
    "kuaidi100_intercept_send",
    "kuaidi100_intercepts_send_pending",
    "lost_parcel_remedy",
    "lost_parcels_remedy_pending",
    "month_of",
    "outbound_shipment_for",
    "shipment_dispatch",
    "shipments_create_for_orders",
    "shipments_declare_lost",
    "shipments_sync_from_orders",
    "return_shipments_sync_from_tickets",
    "tracking_ingest",
]
