//! One table of what Stripe's write operations do, keyed by method and path template
//! (every POST and DELETE of Stripe's OpenAPI description has an entry: see the test
//! `every_openapi_write_has_an_entry`), and [`decide`], which reads a planned request
//! against it and looks up the facts the request does not carry (the charge's currency
//! and what is left to refund, an invoice's amount due, a checkout's prices), so the
//! confirmation, the limits and the audit trail all decide on what Stripe will do.
//!
//! A path the table does not know (a newer API) is [`Kind::Unknown`]: confirmed, and
//! refused while any spending cap is set.

use serde_json::{Map, Value};

use crate::stripe::{
    Client, Error,
    planned::{Method, Planned},
};

use Method::{Delete, Post};
use Rule::*;

/// What a write does, as the guards see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Money goes back: a refund, a credit note refunded, an application fee refunded,
    /// a transfer reversed.
    Refund,
    /// Money is taken from a customer: a payment confirmed or captured, an invoice paid
    /// or finalized for automatic collection, a checkout session or payment link, a
    /// subscription whose items change.
    Take,
    /// Money leaves the balance: a payout, a transfer, an outbound payment.
    Payout,
    /// Something in progress is stopped: a payment intent or subscription canceled, a
    /// checkout session expired.
    Cancel,
    /// A change that cannot be undone (an invoice voided, an object deleted, dispute
    /// evidence submitted, bank details changed).
    Irreversible,
    /// An ordinary, reversible write (a customer created, a product renamed).
    Ordinary,
    /// A path this table does not know.
    Unknown,
}

impl Kind {
    /// True for the kinds a person confirms: all but an ordinary write.
    pub fn needs_confirmation(self) -> bool {
        self != Kind::Ordinary
    }

    /// The name used in errors, logs and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Refund => "refund",
            Kind::Take => "take",
            Kind::Payout => "payout",
            Kind::Cancel => "cancel",
            Kind::Irreversible => "irreversible",
            Kind::Ordinary => "write",
            Kind::Unknown => "unknown_write",
        }
    }
}

/// Where a money write's amount comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// `amount` and `currency` in the form (the currency looked up from the payment
    /// intent in the path when absent).
    Given,
    /// The charge refunded (path `{charge}`, or the `charge` / `payment_intent` param):
    /// `amount`, else what is left to refund, in the charge's currency.
    ChargeRefund,
    /// The application fee in the path: `amount`, else what is left of it.
    ApplicationFee,
    /// The transfer in the path: `amount`, else what is not yet reversed.
    TransferReversal,
    /// The payment intent in the path: `amount_to_capture` / `amount`, else its amount.
    PaymentIntent,
    /// The charge in the path (a capture): `amount`, else its amount.
    Charge,
    /// The invoice in the path: its `amount_due`.
    Invoice,
    /// `line_items`: each price (looked up) or `price_data` times its quantity.
    Lines,
    /// Not knowable before sending: refused while the kind is capped.
    Unknown,
}

/// What an operation does, some depending on the params.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Always ordinary.
    Ordinary,
    /// Always a cancellation.
    Cancel,
    /// Always irreversible.
    Irreversible,
    /// Money back.
    Refund(From),
    /// Money taken.
    Take(From),
    /// Money out of the balance.
    Payout(From),
    /// `POST /v1/payment_intents`: taking money when `confirm` is true.
    PaymentIntentCreate,
    /// A new subscription: taking money (its items' first period) unless invoiced by email.
    SubscriptionCreate,
    /// A subscription updated: new `items` take money; `cancel_at_period_end` or
    /// `cancel_at` cancel it; anything else is ordinary.
    SubscriptionUpdate,
    /// `POST /v1/invoices`: with `auto_advance` (and automatic collection) Stripe finalizes
    /// and charges by itself: taking the pending items' total.
    InvoiceCreate,
    /// `POST /v1/invoices/{id}`: turning `auto_advance` on takes the amount due.
    InvoiceUpdate,
    /// `POST /v1/invoiceitems` onto an invoice that Stripe will finalize and charge by
    /// itself: taking the item's amount.
    InvoiceItemCreate,
    /// `POST /v1/credit_notes`: a refund when `refund_amount` (or `refunds`) is given.
    CreditNote,
    /// A dispute updated: irreversible when `submit` is true.
    DisputeUpdate,
}

/// Every POST and DELETE operation of Stripe's API (spec3 2024-04-10), with what it does.
pub static TABLE: &[(Method, &str, Rule)] = &[
    (Post, "/v1/account_links", Ordinary),
    (Post, "/v1/account_sessions", Ordinary),
    (Post, "/v1/accounts", Irreversible),
    (Delete, "/v1/accounts/{account}", Irreversible),
    (Post, "/v1/accounts/{account}", Irreversible),
    (Post, "/v1/accounts/{account}/bank_accounts", Irreversible),
    (
        Delete,
        "/v1/accounts/{account}/bank_accounts/{id}",
        Irreversible,
    ),
    (
        Post,
        "/v1/accounts/{account}/bank_accounts/{id}",
        Irreversible,
    ),
    (
        Post,
        "/v1/accounts/{account}/capabilities/{capability}",
        Ordinary,
    ),
    (
        Post,
        "/v1/accounts/{account}/external_accounts",
        Irreversible,
    ),
    (
        Delete,
        "/v1/accounts/{account}/external_accounts/{id}",
        Irreversible,
    ),
    (
        Post,
        "/v1/accounts/{account}/external_accounts/{id}",
        Irreversible,
    ),
    (Post, "/v1/accounts/{account}/login_links", Irreversible),
    (Post, "/v1/accounts/{account}/people", Ordinary),
    (
        Delete,
        "/v1/accounts/{account}/people/{person}",
        Irreversible,
    ),
    (Post, "/v1/accounts/{account}/people/{person}", Ordinary),
    (Post, "/v1/accounts/{account}/persons", Ordinary),
    (
        Delete,
        "/v1/accounts/{account}/persons/{person}",
        Irreversible,
    ),
    (Post, "/v1/accounts/{account}/persons/{person}", Ordinary),
    (Post, "/v1/accounts/{account}/reject", Irreversible),
    (Post, "/v1/apple_pay/domains", Ordinary),
    (Delete, "/v1/apple_pay/domains/{domain}", Irreversible),
    (Post, "/v1/application_fees/{fee}/refunds/{id}", Ordinary),
    (
        Post,
        "/v1/application_fees/{id}/refund",
        Refund(From::ApplicationFee),
    ),
    (
        Post,
        "/v1/application_fees/{id}/refunds",
        Refund(From::ApplicationFee),
    ),
    (Post, "/v1/apps/secrets", Irreversible),
    (Post, "/v1/apps/secrets/delete", Irreversible),
    (Post, "/v1/billing/meter_event_adjustments", Ordinary),
    (Post, "/v1/billing/meter_events", Ordinary),
    (Post, "/v1/billing/meters", Ordinary),
    (Post, "/v1/billing/meters/{id}", Ordinary),
    (Post, "/v1/billing/meters/{id}/deactivate", Cancel),
    (Post, "/v1/billing/meters/{id}/reactivate", Ordinary),
    (Post, "/v1/billing_portal/configurations", Ordinary),
    (
        Post,
        "/v1/billing_portal/configurations/{configuration}",
        Ordinary,
    ),
    (Post, "/v1/billing_portal/sessions", Ordinary),
    (Post, "/v1/charges", Take(From::Given)),
    (Post, "/v1/charges/{charge}", Ordinary),
    (Post, "/v1/charges/{charge}/capture", Take(From::Charge)),
    (Post, "/v1/charges/{charge}/dispute", DisputeUpdate),
    (Post, "/v1/charges/{charge}/dispute/close", Irreversible),
    (
        Post,
        "/v1/charges/{charge}/refund",
        Refund(From::ChargeRefund),
    ),
    (
        Post,
        "/v1/charges/{charge}/refunds",
        Refund(From::ChargeRefund),
    ),
    (Post, "/v1/charges/{charge}/refunds/{refund}", Ordinary),
    (Post, "/v1/checkout/sessions", Take(From::Lines)),
    (Post, "/v1/checkout/sessions/{session}/expire", Cancel),
    (Post, "/v1/climate/orders", Ordinary),
    (Post, "/v1/climate/orders/{order}", Ordinary),
    (Post, "/v1/climate/orders/{order}/cancel", Cancel),
    (Post, "/v1/coupons", Ordinary),
    (Delete, "/v1/coupons/{coupon}", Irreversible),
    (Post, "/v1/coupons/{coupon}", Ordinary),
    (Post, "/v1/credit_notes", CreditNote),
    (Post, "/v1/credit_notes/{id}", Ordinary),
    (Post, "/v1/credit_notes/{id}/void", Irreversible),
    (Post, "/v1/customer_sessions", Ordinary),
    (Post, "/v1/customers", Ordinary),
    (Delete, "/v1/customers/{customer}", Irreversible),
    (Post, "/v1/customers/{customer}", Ordinary),
    (
        Post,
        "/v1/customers/{customer}/balance_transactions",
        Irreversible,
    ),
    (
        Post,
        "/v1/customers/{customer}/balance_transactions/{transaction}",
        Ordinary,
    ),
    (Post, "/v1/customers/{customer}/bank_accounts", Ordinary),
    (
        Delete,
        "/v1/customers/{customer}/bank_accounts/{id}",
        Irreversible,
    ),
    (
        Post,
        "/v1/customers/{customer}/bank_accounts/{id}",
        Ordinary,
    ),
    (
        Post,
        "/v1/customers/{customer}/bank_accounts/{id}/verify",
        Ordinary,
    ),
    (Post, "/v1/customers/{customer}/cards", Ordinary),
    (Delete, "/v1/customers/{customer}/cards/{id}", Irreversible),
    (Post, "/v1/customers/{customer}/cards/{id}", Ordinary),
    (Post, "/v1/customers/{customer}/cash_balance", Irreversible),
    (Delete, "/v1/customers/{customer}/discount", Irreversible),
    (
        Post,
        "/v1/customers/{customer}/funding_instructions",
        Ordinary,
    ),
    (Post, "/v1/customers/{customer}/sources", Ordinary),
    (
        Delete,
        "/v1/customers/{customer}/sources/{id}",
        Irreversible,
    ),
    (Post, "/v1/customers/{customer}/sources/{id}", Ordinary),
    (
        Post,
        "/v1/customers/{customer}/sources/{id}/verify",
        Ordinary,
    ),
    (
        Post,
        "/v1/customers/{customer}/subscriptions",
        SubscriptionCreate,
    ),
    (
        Delete,
        "/v1/customers/{customer}/subscriptions/{subscription_exposed_id}",
        Cancel,
    ),
    (
        Post,
        "/v1/customers/{customer}/subscriptions/{subscription_exposed_id}",
        SubscriptionUpdate,
    ),
    (
        Delete,
        "/v1/customers/{customer}/subscriptions/{subscription_exposed_id}/discount",
        Irreversible,
    ),
    (Post, "/v1/customers/{customer}/tax_ids", Ordinary),
    (
        Delete,
        "/v1/customers/{customer}/tax_ids/{id}",
        Irreversible,
    ),
    (Post, "/v1/disputes/{dispute}", DisputeUpdate),
    (Post, "/v1/disputes/{dispute}/close", Irreversible),
    (Post, "/v1/entitlements/features", Ordinary),
    (Post, "/v1/entitlements/features/{id}", Ordinary),
    (Post, "/v1/ephemeral_keys", Ordinary),
    (Delete, "/v1/ephemeral_keys/{key}", Irreversible),
    (Post, "/v1/file_links", Ordinary),
    (Post, "/v1/file_links/{link}", Ordinary),
    (Post, "/v1/files", Ordinary),
    (
        Post,
        "/v1/financial_connections/accounts/{account}/disconnect",
        Cancel,
    ),
    (
        Post,
        "/v1/financial_connections/accounts/{account}/refresh",
        Ordinary,
    ),
    (
        Post,
        "/v1/financial_connections/accounts/{account}/subscribe",
        Ordinary,
    ),
    (
        Post,
        "/v1/financial_connections/accounts/{account}/unsubscribe",
        Cancel,
    ),
    (Post, "/v1/financial_connections/sessions", Ordinary),
    (Post, "/v1/forwarding/requests", Irreversible),
    (Post, "/v1/identity/verification_sessions", Ordinary),
    (
        Post,
        "/v1/identity/verification_sessions/{session}",
        Ordinary,
    ),
    (
        Post,
        "/v1/identity/verification_sessions/{session}/cancel",
        Cancel,
    ),
    (
        Post,
        "/v1/identity/verification_sessions/{session}/redact",
        Irreversible,
    ),
    (Post, "/v1/invoiceitems", InvoiceItemCreate),
    (Delete, "/v1/invoiceitems/{invoiceitem}", Irreversible),
    (Post, "/v1/invoiceitems/{invoiceitem}", Ordinary),
    (Post, "/v1/invoices", InvoiceCreate),
    (Post, "/v1/invoices/create_preview", Ordinary),
    (Delete, "/v1/invoices/{invoice}", Irreversible),
    (Post, "/v1/invoices/{invoice}", InvoiceUpdate),
    (Post, "/v1/invoices/{invoice}/finalize", Take(From::Invoice)),
    (
        Post,
        "/v1/invoices/{invoice}/lines/{line_item_id}",
        Ordinary,
    ),
    (
        Post,
        "/v1/invoices/{invoice}/mark_uncollectible",
        Irreversible,
    ),
    (Post, "/v1/invoices/{invoice}/pay", Take(From::Invoice)),
    (Post, "/v1/invoices/{invoice}/send", Ordinary),
    (Post, "/v1/invoices/{invoice}/void", Irreversible),
    (Post, "/v1/issuing/authorizations/{authorization}", Ordinary),
    (
        Post,
        "/v1/issuing/authorizations/{authorization}/approve",
        Payout(From::Unknown),
    ),
    (
        Post,
        "/v1/issuing/authorizations/{authorization}/decline",
        Cancel,
    ),
    (Post, "/v1/issuing/cardholders", Ordinary),
    (Post, "/v1/issuing/cardholders/{cardholder}", Ordinary),
    (Post, "/v1/issuing/cards", Ordinary),
    (Post, "/v1/issuing/cards/{card}", Ordinary),
    (Post, "/v1/issuing/disputes", Ordinary),
    (Post, "/v1/issuing/disputes/{dispute}", Ordinary),
    (Post, "/v1/issuing/disputes/{dispute}/submit", Irreversible),
    (Post, "/v1/issuing/personalization_designs", Ordinary),
    (
        Post,
        "/v1/issuing/personalization_designs/{personalization_design}",
        Ordinary,
    ),
    (Post, "/v1/issuing/settlements/{settlement}", Ordinary),
    (Post, "/v1/issuing/tokens/{token}", Ordinary),
    (Post, "/v1/issuing/transactions/{transaction}", Ordinary),
    (Post, "/v1/link_account_sessions", Ordinary),
    (Post, "/v1/linked_accounts/{account}/disconnect", Cancel),
    (Post, "/v1/linked_accounts/{account}/refresh", Ordinary),
    (Post, "/v1/payment_intents", PaymentIntentCreate),
    (Post, "/v1/payment_intents/{intent}", Ordinary),
    (
        Post,
        "/v1/payment_intents/{intent}/apply_customer_balance",
        Take(From::PaymentIntent),
    ),
    (Post, "/v1/payment_intents/{intent}/cancel", Cancel),
    (
        Post,
        "/v1/payment_intents/{intent}/capture",
        Take(From::PaymentIntent),
    ),
    (
        Post,
        "/v1/payment_intents/{intent}/confirm",
        Take(From::PaymentIntent),
    ),
    (
        Post,
        "/v1/payment_intents/{intent}/increment_authorization",
        Take(From::Given),
    ),
    (
        Post,
        "/v1/payment_intents/{intent}/verify_microdeposits",
        Take(From::PaymentIntent),
    ),
    (Post, "/v1/payment_links", Take(From::Lines)),
    (Post, "/v1/payment_links/{payment_link}", Ordinary),
    (Post, "/v1/payment_method_configurations", Ordinary),
    (
        Post,
        "/v1/payment_method_configurations/{configuration}",
        Ordinary,
    ),
    (Post, "/v1/payment_method_domains", Ordinary),
    (
        Post,
        "/v1/payment_method_domains/{payment_method_domain}",
        Ordinary,
    ),
    (
        Post,
        "/v1/payment_method_domains/{payment_method_domain}/validate",
        Ordinary,
    ),
    (Post, "/v1/payment_methods", Ordinary),
    (Post, "/v1/payment_methods/{payment_method}", Ordinary),
    (
        Post,
        "/v1/payment_methods/{payment_method}/attach",
        Ordinary,
    ),
    (Post, "/v1/payment_methods/{payment_method}/detach", Cancel),
    (Post, "/v1/payouts", Payout(From::Given)),
    (Post, "/v1/payouts/{payout}", Ordinary),
    (Post, "/v1/payouts/{payout}/cancel", Cancel),
    (Post, "/v1/payouts/{payout}/reverse", Irreversible),
    (Post, "/v1/plans", Ordinary),
    (Delete, "/v1/plans/{plan}", Irreversible),
    (Post, "/v1/plans/{plan}", Ordinary),
    (Post, "/v1/prices", Ordinary),
    (Post, "/v1/prices/{price}", Ordinary),
    (Post, "/v1/products", Ordinary),
    (Delete, "/v1/products/{id}", Irreversible),
    (Post, "/v1/products/{id}", Ordinary),
    (Post, "/v1/products/{product}/features", Ordinary),
    (Delete, "/v1/products/{product}/features/{id}", Irreversible),
    (Post, "/v1/promotion_codes", Ordinary),
    (Post, "/v1/promotion_codes/{promotion_code}", Ordinary),
    (Post, "/v1/quotes", Ordinary),
    (Post, "/v1/quotes/{quote}", Ordinary),
    (Post, "/v1/quotes/{quote}/accept", Take(From::Unknown)),
    (Post, "/v1/quotes/{quote}/cancel", Cancel),
    (Post, "/v1/quotes/{quote}/finalize", Irreversible),
    (Post, "/v1/radar/value_list_items", Ordinary),
    (Delete, "/v1/radar/value_list_items/{item}", Irreversible),
    (Post, "/v1/radar/value_lists", Ordinary),
    (Delete, "/v1/radar/value_lists/{value_list}", Irreversible),
    (Post, "/v1/radar/value_lists/{value_list}", Ordinary),
    (Post, "/v1/refunds", Refund(From::ChargeRefund)),
    (Post, "/v1/refunds/{refund}", Ordinary),
    (Post, "/v1/refunds/{refund}/cancel", Cancel),
    (Post, "/v1/reporting/report_runs", Ordinary),
    (Post, "/v1/reviews/{review}/approve", Irreversible),
    (Post, "/v1/setup_intents", Ordinary),
    (Post, "/v1/setup_intents/{intent}", Ordinary),
    (Post, "/v1/setup_intents/{intent}/cancel", Cancel),
    (Post, "/v1/setup_intents/{intent}/confirm", Ordinary),
    (
        Post,
        "/v1/setup_intents/{intent}/verify_microdeposits",
        Ordinary,
    ),
    (Post, "/v1/shipping_rates", Ordinary),
    (Post, "/v1/shipping_rates/{shipping_rate_token}", Ordinary),
    (Post, "/v1/sources", Ordinary),
    (Post, "/v1/sources/{source}", Ordinary),
    (Post, "/v1/sources/{source}/verify", Ordinary),
    (Post, "/v1/subscription_items", Take(From::Unknown)),
    (Delete, "/v1/subscription_items/{item}", Irreversible),
    (Post, "/v1/subscription_items/{item}", Take(From::Unknown)),
    (
        Post,
        "/v1/subscription_items/{subscription_item}/usage_records",
        Ordinary,
    ),
    (Post, "/v1/subscription_schedules", Take(From::Unknown)),
    (
        Post,
        "/v1/subscription_schedules/{schedule}",
        Take(From::Unknown),
    ),
    (Post, "/v1/subscription_schedules/{schedule}/cancel", Cancel),
    (
        Post,
        "/v1/subscription_schedules/{schedule}/release",
        Cancel,
    ),
    (Post, "/v1/subscriptions", SubscriptionCreate),
    (
        Delete,
        "/v1/subscriptions/{subscription_exposed_id}",
        Cancel,
    ),
    (
        Post,
        "/v1/subscriptions/{subscription_exposed_id}",
        SubscriptionUpdate,
    ),
    (
        Delete,
        "/v1/subscriptions/{subscription_exposed_id}/discount",
        Irreversible,
    ),
    (
        Post,
        "/v1/subscriptions/{subscription}/resume",
        Take(From::Unknown),
    ),
    (Post, "/v1/tax/calculations", Ordinary),
    (Post, "/v1/tax/registrations", Ordinary),
    (Post, "/v1/tax/registrations/{id}", Ordinary),
    (Post, "/v1/tax/settings", Ordinary),
    (
        Post,
        "/v1/tax/transactions/create_from_calculation",
        Ordinary,
    ),
    (Post, "/v1/tax/transactions/create_reversal", Irreversible),
    (Post, "/v1/tax_ids", Ordinary),
    (Delete, "/v1/tax_ids/{id}", Irreversible),
    (Post, "/v1/tax_rates", Ordinary),
    (Post, "/v1/tax_rates/{tax_rate}", Ordinary),
    (Post, "/v1/terminal/configurations", Ordinary),
    (
        Delete,
        "/v1/terminal/configurations/{configuration}",
        Irreversible,
    ),
    (
        Post,
        "/v1/terminal/configurations/{configuration}",
        Ordinary,
    ),
    (Post, "/v1/terminal/connection_tokens", Ordinary),
    (Post, "/v1/terminal/locations", Ordinary),
    (Delete, "/v1/terminal/locations/{location}", Irreversible),
    (Post, "/v1/terminal/locations/{location}", Ordinary),
    (Post, "/v1/terminal/readers", Ordinary),
    (Delete, "/v1/terminal/readers/{reader}", Irreversible),
    (Post, "/v1/terminal/readers/{reader}", Ordinary),
    (Post, "/v1/terminal/readers/{reader}/cancel_action", Cancel),
    (
        Post,
        "/v1/terminal/readers/{reader}/process_payment_intent",
        Take(From::PaymentIntent),
    ),
    (
        Post,
        "/v1/terminal/readers/{reader}/process_setup_intent",
        Ordinary,
    ),
    (
        Post,
        "/v1/terminal/readers/{reader}/refund_payment",
        Refund(From::ChargeRefund),
    ),
    (
        Post,
        "/v1/terminal/readers/{reader}/set_reader_display",
        Ordinary,
    ),
    (Post, "/v1/test_helpers/confirmation_tokens", Ordinary),
    (
        Post,
        "/v1/test_helpers/customers/{customer}/fund_cash_balance",
        Ordinary,
    ),
    (Post, "/v1/test_helpers/issuing/authorizations", Ordinary),
    (
        Post,
        "/v1/test_helpers/issuing/authorizations/{authorization}/capture",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/authorizations/{authorization}/expire",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/authorizations/{authorization}/increment",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/authorizations/{authorization}/reverse",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/cards/{card}/shipping/deliver",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/cards/{card}/shipping/fail",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/cards/{card}/shipping/return",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/cards/{card}/shipping/ship",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/personalization_designs/{personalization_design}/activate",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/personalization_designs/{personalization_design}/deactivate",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/personalization_designs/{personalization_design}/reject",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/transactions/create_force_capture",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/transactions/create_unlinked_refund",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/issuing/transactions/{transaction}/refund",
        Ordinary,
    ),
    (Post, "/v1/test_helpers/refunds/{refund}/expire", Ordinary),
    (
        Post,
        "/v1/test_helpers/terminal/readers/{reader}/present_payment_method",
        Ordinary,
    ),
    (Post, "/v1/test_helpers/test_clocks", Ordinary),
    (
        Delete,
        "/v1/test_helpers/test_clocks/{test_clock}",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/test_clocks/{test_clock}/advance",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/inbound_transfers/{id}/fail",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/inbound_transfers/{id}/return",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/inbound_transfers/{id}/succeed",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_payments/{id}",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_payments/{id}/fail",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_payments/{id}/post",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_payments/{id}/return",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}/fail",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}/post",
        Ordinary,
    ),
    (
        Post,
        "/v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}/return",
        Ordinary,
    ),
    (Post, "/v1/test_helpers/treasury/received_credits", Ordinary),
    (Post, "/v1/test_helpers/treasury/received_debits", Ordinary),
    (Post, "/v1/tokens", Ordinary),
    (Post, "/v1/topups", Take(From::Given)),
    (Post, "/v1/topups/{topup}", Ordinary),
    (Post, "/v1/topups/{topup}/cancel", Cancel),
    (Post, "/v1/transfers", Payout(From::Given)),
    (
        Post,
        "/v1/transfers/{id}/reversals",
        Refund(From::TransferReversal),
    ),
    (Post, "/v1/transfers/{transfer}", Ordinary),
    (Post, "/v1/transfers/{transfer}/reversals/{id}", Ordinary),
    (Post, "/v1/treasury/credit_reversals", Irreversible),
    (Post, "/v1/treasury/debit_reversals", Irreversible),
    (Post, "/v1/treasury/financial_accounts", Ordinary),
    (
        Post,
        "/v1/treasury/financial_accounts/{financial_account}",
        Ordinary,
    ),
    (
        Post,
        "/v1/treasury/financial_accounts/{financial_account}/features",
        Ordinary,
    ),
    (Post, "/v1/treasury/inbound_transfers", Take(From::Given)),
    (
        Post,
        "/v1/treasury/inbound_transfers/{inbound_transfer}/cancel",
        Cancel,
    ),
    (Post, "/v1/treasury/outbound_payments", Payout(From::Given)),
    (Post, "/v1/treasury/outbound_payments/{id}/cancel", Cancel),
    (Post, "/v1/treasury/outbound_transfers", Payout(From::Given)),
    (
        Post,
        "/v1/treasury/outbound_transfers/{outbound_transfer}/cancel",
        Cancel,
    ),
    (Post, "/v1/webhook_endpoints", Irreversible),
    (
        Delete,
        "/v1/webhook_endpoints/{webhook_endpoint}",
        Irreversible,
    ),
    (
        Post,
        "/v1/webhook_endpoints/{webhook_endpoint}",
        Irreversible,
    ),
    // Newer than the OpenAPI description above, used by the tools.
    (
        Post,
        "/v1/subscriptions/{subscription_exposed_id}/cancel",
        Cancel,
    ),
];

/// The table's rule for a request: the entry whose template matches the path with the
/// most literal segments (`/v1/invoices/create_preview` before `/v1/invoices/{invoice}`).
pub fn rule(method: Method, path: &str) -> Option<(&'static str, Rule)> {
    let path = path.split('?').next().unwrap_or_default();
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, &'static str, Rule)> = None;
    for (m, template, rule) in TABLE {
        if *m != method {
            continue;
        }
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != segs.len() {
            continue;
        }
        let mut literal = 0;
        let matches = t.iter().zip(&segs).all(|(t, s)| {
            if t.starts_with('{') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if matches && best.is_none_or(|(l, _, _)| literal > l) {
            best = Some((literal, template, *rule));
        }
    }
    best.map(|(_, t, r)| (t, r))
}

/// The value of the path segment named `{name}`-like in `template` (the first `{...}`
/// segment when `name` is `None`).
fn path_id(template: &str, path: &str, nth: usize) -> Option<String> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter(|(t, _)| t.starts_with('{'))
        .nth(nth)
        .map(|(_, s)| s.to_owned())
}

/// What the guards decided a planned request does, with the facts looked up for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What it does.
    pub kind: Kind,
    /// The matching template, `None` for a path the table does not know.
    pub template: Option<&'static str>,
    /// Where its amount comes from (money kinds).
    pub from: Option<From>,
    /// The amount it moves, in minor units, when known.
    pub amount: Option<i64>,
    /// Its currency (lowercase), when known.
    pub currency: Option<String>,
    /// The object acted on or paid from.
    pub object_id: Option<String>,
    /// Who pays or is paid, as Stripe knows them (text from Stripe: quote it).
    pub who: Option<String>,
    /// Further facts in the server's words (amounts and dates; Stripe's text quoted).
    pub facts: Vec<String>,
}

fn str_param(params: &Map<String, Value>, key: &str) -> Option<String> {
    params
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An integer param, also in the string spelling a generic write may use ("500").
fn int_param(params: &Map<String, Value>, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A boolean param, also in the form spelling ("true").
fn bool_param(params: &Map<String, Value>, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn present(params: &Map<String, Value>, key: &str) -> bool {
    params
        .get(key)
        .is_some_and(|v| !(v.is_null() || v.as_str() == Some("")))
}

/// Reads a planned request against the table, without looking anything up.
pub fn classify(planned: &Planned) -> Decision {
    let p = &planned.params;
    let (template, rule) = match rule(planned.method, &planned.path) {
        Some((t, r)) => (Some(t), Some(r)),
        None => (None, None),
    };
    let auto_charges = |p: &Map<String, Value>| {
        str_param(p, "collection_method").as_deref() != Some("send_invoice")
    };
    let (kind, from) = match rule {
        None => (Kind::Unknown, None),
        Some(Ordinary) => (Kind::Ordinary, None),
        Some(Cancel) => (Kind::Cancel, None),
        Some(Irreversible) => (Kind::Irreversible, None),
        Some(Refund(f)) => (Kind::Refund, Some(f)),
        Some(Take(f)) => (Kind::Take, Some(f)),
        Some(Payout(f)) => (Kind::Payout, Some(f)),
        Some(PaymentIntentCreate) if bool_param(p, "confirm") => (Kind::Take, Some(From::Given)),
        Some(PaymentIntentCreate) => (Kind::Ordinary, None),
        Some(SubscriptionCreate) if auto_charges(p) => (Kind::Take, Some(From::Lines)),
        Some(SubscriptionCreate) => (Kind::Ordinary, None),
        Some(SubscriptionUpdate) if present(p, "items") => (Kind::Take, Some(From::Lines)),
        Some(SubscriptionUpdate)
            if bool_param(p, "cancel_at_period_end") || present(p, "cancel_at") =>
        {
            (Kind::Cancel, None)
        }
        Some(SubscriptionUpdate) => (Kind::Ordinary, None),
        Some(InvoiceCreate) if bool_param(p, "auto_advance") && auto_charges(p) => {
            (Kind::Take, Some(From::Unknown))
        }
        Some(InvoiceCreate) => (Kind::Ordinary, None),
        Some(InvoiceUpdate) if bool_param(p, "auto_advance") => (Kind::Take, Some(From::Invoice)),
        Some(InvoiceUpdate) => (Kind::Ordinary, None),
        // Whether the invoice charges by itself is looked up ([`decide`]).
        Some(InvoiceItemCreate) if present(p, "invoice") => (Kind::Take, Some(From::Given)),
        Some(InvoiceItemCreate) => (Kind::Ordinary, None),
        Some(CreditNote) if present(p, "refund_amount") || present(p, "refunds") => {
            (Kind::Refund, Some(From::Given))
        }
        Some(CreditNote) => (Kind::Irreversible, None),
        Some(DisputeUpdate) if bool_param(p, "submit") => (Kind::Irreversible, None),
        Some(DisputeUpdate) => (Kind::Ordinary, None),
    };
    let object_id = template
        .and_then(|t| path_id(t, &planned.path, 0))
        .or_else(|| {
            [
                "payment_intent",
                "charge",
                "invoice",
                "customer",
                "destination",
            ]
            .iter()
            .find_map(|k| str_param(p, k))
        });
    let mut d = Decision {
        kind,
        template,
        from,
        amount: None,
        currency: str_param(p, "currency").map(|c| c.to_ascii_lowercase()),
        object_id,
        who: None,
        facts: Vec::new(),
    };
    if let Some(From::Given) = from {
        d.amount = int_param(p, "amount");
    }
    d
}

/// An id that may go into a lookup path: letters, digits and `_` only.
fn safe(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

async fn get(client: &Client, path: String) -> Result<Value, Error> {
    client.get::<Value>(&path, &()).await
}

fn n(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Who paid a charge, as Stripe knows them: the billing or receipt email, or name.
fn payer(charge: &Value) -> Option<String> {
    charge
        .pointer("/billing_details/email")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| s(charge, "receipt_email"))
        .or_else(|| {
            charge
                .pointer("/billing_details/name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_owned)
}

/// Classifies `planned` and looks up what it does not carry. `lookups` is false when
/// nobody needs the facts (no question is asked, no cap of this kind is set): then
/// nothing is sent and only the request's own fields are known.
pub async fn decide(client: &Client, planned: &Planned, lookups: bool) -> Result<Decision, Error> {
    let mut d = classify(planned);
    let Some(from) = d.from else {
        return Ok(d);
    };
    if !lookups {
        // Nothing capped and nobody asked: the audit row still says what was asked for
        // (a refund's `amount`; its currency is the charge's, not looked up here).
        if d.amount.is_none() && matches!(from, From::ChargeRefund) {
            d.amount = int_param(&planned.params, "amount");
        }
        return Ok(d);
    }
    let p = &planned.params;
    let path = &planned.path;
    let template = d.template.unwrap_or_default();
    let money = |v: &Value| currency_of(v);
    match from {
        From::Given => {
            if planned.path == "/v1/invoiceitems" {
                invoice_item(client, p, &mut d).await?;
            } else if template == "/v1/credit_notes" {
                let inv = str_param(p, "invoice").filter(|i| safe(i));
                if let Some(inv) = inv {
                    let invoice = get(client, format!("/v1/invoices/{inv}")).await?;
                    d.currency = money(&invoice);
                    d.who = s(&invoice, "customer_email").map(str::to_owned);
                    d.object_id = Some(inv);
                }
                d.amount = int_param(p, "refund_amount").or_else(|| {
                    p.get("refunds").and_then(Value::as_array).map(|rs| {
                        rs.iter()
                            .filter_map(|r| {
                                r.as_object().and_then(|r| int_param(r, "amount_refunded"))
                            })
                            .sum()
                    })
                });
            } else if d.currency.is_none()
                && let Some(id) = d
                    .object_id
                    .clone()
                    .filter(|i| i.starts_with("pi_") && safe(i))
            {
                let pi = get(client, format!("/v1/payment_intents/{id}")).await?;
                d.currency = money(&pi);
            }
        }
        From::ChargeRefund => {
            let charge_id = if template.contains("{charge}") {
                path_id(template, path, 0)
            } else {
                str_param(p, "charge")
            };
            let pi_id = str_param(p, "payment_intent");
            // A charge named wins: it is what Stripe refunds (with both given, Stripe
            // refuses a mismatch; counting the charge is the side that holds).
            let charge = match (charge_id.filter(|c| safe(c)), pi_id.filter(|c| safe(c))) {
                (Some(ch), _) => Some(get(client, format!("/v1/charges/{ch}")).await?),
                (None, Some(pi)) => {
                    let intent = get(client, format!("/v1/payment_intents/{pi}")).await?;
                    match s(&intent, "latest_charge").filter(|c| safe(c)) {
                        Some(ch) => Some(get(client, format!("/v1/charges/{ch}")).await?),
                        None => None,
                    }
                }
                _ => None,
            };
            if let Some(charge) = charge {
                let paid = n(&charge, "amount").unwrap_or(0);
                let refunded = n(&charge, "amount_refunded").unwrap_or(0);
                // Stripe refunds in the charge's currency, whatever the request says.
                d.currency = money(&charge);
                d.amount = Some(int_param(p, "amount").unwrap_or(paid - refunded));
                d.object_id = s(&charge, "id").map(str::to_owned).or(d.object_id);
                d.who = payer(&charge);
                if let (Some(c), Some(cur)) = (n(&charge, "created"), d.currency.as_deref()) {
                    d.facts.push(format!(
                        "paid {} on {}",
                        crate::stripe::currency::display(paid, cur),
                        super::confirm::date(c)
                    ));
                    if refunded > 0 {
                        d.facts.push(format!(
                            "{} already refunded",
                            crate::stripe::currency::display(refunded, cur)
                        ));
                    }
                }
            }
        }
        From::ApplicationFee | From::TransferReversal => {
            let (kind, done) = if from == From::ApplicationFee {
                ("application_fees", "amount_refunded")
            } else {
                ("transfers", "amount_reversed")
            };
            if let Some(id) = path_id(template, path, 0).filter(|i| safe(i)) {
                let object = get(client, format!("/v1/{kind}/{id}")).await?;
                d.currency = money(&object);
                let left = n(&object, "amount").unwrap_or(0) - n(&object, done).unwrap_or(0);
                d.amount = Some(int_param(p, "amount").unwrap_or(left));
            }
        }
        From::PaymentIntent => {
            if let Some(id) = path_id(template, path, 0).filter(|i| safe(i) && i.starts_with("pi_"))
            {
                let pi = get(client, format!("/v1/payment_intents/{id}")).await?;
                d.currency = money(&pi);
                d.amount = int_param(p, "amount_to_capture")
                    .or_else(|| int_param(p, "amount"))
                    .or_else(|| n(&pi, "amount"));
                d.who = s(&pi, "receipt_email")
                    .or_else(|| s(&pi, "customer"))
                    .map(str::to_owned);
                d.object_id = Some(id);
            } else if let Some(id) = str_param(p, "payment_intent").filter(|i| safe(i)) {
                // A terminal reader processing a payment intent named in the form.
                let pi = get(client, format!("/v1/payment_intents/{id}")).await?;
                d.currency = money(&pi);
                d.amount = n(&pi, "amount");
                d.object_id = Some(id);
            }
        }
        From::Charge => {
            if let Some(id) = path_id(template, path, 0).filter(|i| safe(i)) {
                let ch = get(client, format!("/v1/charges/{id}")).await?;
                d.currency = money(&ch);
                d.amount = int_param(p, "amount").or_else(|| n(&ch, "amount"));
                d.who = payer(&ch);
            }
        }
        From::Invoice => {
            if let Some(id) = path_id(template, path, 0).filter(|i| safe(i)) {
                let inv = get(client, format!("/v1/invoices/{id}")).await?;
                d.currency = money(&inv);
                d.amount = n(&inv, "amount_due");
                d.who = s(&inv, "customer_email")
                    .or_else(|| s(&inv, "customer"))
                    .map(str::to_owned);
                if s(&inv, "collection_method") == Some("send_invoice") {
                    d.facts.push("Stripe then emails it for payment".into());
                } else {
                    d.facts
                        .push("with automatic collection Stripe then charges the customer".into());
                }
            }
        }
        From::Lines => {
            let key = if p.contains_key("items") {
                "items"
            } else {
                "line_items"
            };
            if let Some((amount, currency)) = lines_total(client, p, key).await? {
                d.amount = Some(amount);
                d.currency = Some(currency);
            }
        }
        From::Unknown => {
            if template == "/v1/invoices" {
                pending_items(client, p, &mut d).await?;
            }
        }
    }
    Ok(d)
}

fn currency_of(v: &Value) -> Option<String> {
    s(v, "currency").map(str::to_ascii_lowercase)
}

/// An invoice item onto an invoice: taking money only when that invoice is a draft that
/// Stripe finalizes and charges by itself; otherwise an ordinary write.
async fn invoice_item(
    client: &Client,
    p: &Map<String, Value>,
    d: &mut Decision,
) -> Result<(), Error> {
    let Some(inv) = str_param(p, "invoice").filter(|i| safe(i)) else {
        return Ok(());
    };
    let invoice = get(client, format!("/v1/invoices/{inv}")).await?;
    let charges_itself = invoice.get("auto_advance").and_then(Value::as_bool) == Some(true)
        && s(&invoice, "collection_method") != Some("send_invoice");
    if !charges_itself {
        d.kind = Kind::Ordinary;
        d.from = None;
        return Ok(());
    }
    d.object_id = Some(inv);
    d.currency = d.currency.clone().or_else(|| currency_of(&invoice));
    let one = p.clone();
    let total = lines_total(
        client,
        &{
            let mut m = Map::new();
            m.insert("items".into(), Value::Array(vec![Value::Object(one)]));
            m
        },
        "items",
    )
    .await?;
    d.amount = int_param(p, "amount").or(total.map(|(a, _)| a));
    Ok(())
}

/// A new invoice that Stripe finalizes and charges by itself: what it will hold is the
/// customer's pending invoice items when they are included (none otherwise).
async fn pending_items(
    client: &Client,
    p: &Map<String, Value>,
    d: &mut Decision,
) -> Result<(), Error> {
    let include = str_param(p, "pending_invoice_items_behavior").as_deref() == Some("include");
    if !include {
        // Items added later onto this invoice are counted then (see `invoice_item`).
        d.amount = Some(0);
        return Ok(());
    }
    let Some(customer) = str_param(p, "customer").filter(|c| safe(c)) else {
        return Ok(());
    };
    let items: Value = client
        .get(
            "/v1/invoiceitems",
            &[
                ("customer", customer.as_str()),
                ("pending", "true"),
                ("limit", "100"),
            ],
        )
        .await?;
    let mut total = 0i64;
    let mut cur: Option<String> = None;
    for item in items
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let c = currency_of(item);
        if cur.is_some() && c != cur {
            return Ok(());
        }
        cur = c;
        total = total.saturating_add(n(item, "amount").unwrap_or(0));
    }
    if items.get("has_more").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    d.amount = Some(total);
    d.currency = cur.or(d.currency.clone());
    Ok(())
}

/// The total of `line_items` / `items`: each line's unit amount (its `price` looked up,
/// or its `price_data`) times its quantity. One currency only; `None` when unknowable.
pub async fn lines_total(
    client: &Client,
    p: &Map<String, Value>,
    key: &str,
) -> Result<Option<(i64, String)>, Error> {
    let lines: Vec<&Map<String, Value>> = match p.get(key) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        // Form style from a generic write: {"0": {...}, "1": {...}}.
        Some(Value::Object(items)) => items.values().filter_map(Value::as_object).collect(),
        _ => return Ok(None),
    };
    if lines.is_empty() {
        return Ok(None);
    }
    let mut total = 0i64;
    let mut cur: Option<String> = None;
    for line in lines {
        let quantity = int_param(line, "quantity").unwrap_or(1).max(0);
        let data = line.get("price_data").and_then(Value::as_object);
        let (unit, currency) = match (data, str_param(line, "price")) {
            (Some(data), _) => {
                match (int_param(data, "unit_amount"), str_param(data, "currency")) {
                    (Some(u), Some(c)) => (u, c),
                    _ => return Ok(None),
                }
            }
            (None, Some(price)) if safe(&price) => {
                let price = get(client, format!("/v1/prices/{price}")).await?;
                match (n(&price, "unit_amount"), currency_of(&price)) {
                    (Some(u), Some(c)) => (u, c),
                    _ => return Ok(None),
                }
            }
            // A line with its amount flat (the typed checkout's one-line form).
            (None, None) => match (
                int_param(line, "amount").or(int_param(line, "unit_amount")),
                str_param(line, "currency"),
            ) {
                (Some(u), Some(c)) => (u, c),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let currency = currency.to_ascii_lowercase();
        if cur.as_ref().is_some_and(|c| *c != currency) {
            return Ok(None);
        }
        cur = Some(currency);
        total = total.saturating_add(unit.saturating_mul(quantity));
    }
    Ok(cur.map(|c| (total, c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::IdempotencyKey;
    use serde_json::json;

    fn planned(method: Method, path: &str, params: Value) -> Planned {
        match method {
            Post => Planned::post(path, &params, IdempotencyKey::derived()).unwrap(),
            Delete => Planned::delete(path, IdempotencyKey::derived()),
        }
    }

    fn kind(method: Method, path: &str, params: Value) -> Kind {
        classify(&planned(method, path, params)).kind
    }

    /// Every POST and DELETE operation in Stripe's OpenAPI description has an entry.
    #[test]
    fn every_openapi_write_has_an_entry() {
        let spec = [
            "../shared/stripe-openapi/spec3-2024-04-10.json",
            "/work/shared/stripe-openapi/spec3-2024-04-10.json",
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok());
        let Some(spec) = spec else {
            panic!("Stripe's OpenAPI description is not at ../shared/stripe-openapi/");
        };
        let spec: Value = serde_json::from_str(&spec).unwrap();
        let mut missing = Vec::new();
        let mut count = 0;
        for (path, ops) in spec["paths"].as_object().unwrap() {
            for (m, method) in [("post", Post), ("delete", Delete)] {
                if ops.get(m).is_none() {
                    continue;
                }
                count += 1;
                if !TABLE.iter().any(|(tm, t, _)| *tm == method && t == path) {
                    missing.push(format!("{} {path}", method.as_str()));
                }
            }
        }
        assert!(count > 250, "{count}");
        assert!(missing.is_empty(), "writes without an entry: {missing:?}");
    }

    #[test]
    fn the_findings_are_classified_by_what_stripe_does() {
        assert_eq!(
            kind(
                Post,
                "/v1/credit_notes",
                json!({"invoice": "in_1", "refund_amount": 500})
            ),
            Kind::Refund
        );
        assert_eq!(
            kind(
                Post,
                "/v1/credit_notes",
                json!({"invoice": "in_1", "credit_amount": 500})
            ),
            Kind::Irreversible
        );
        assert_eq!(
            kind(Post, "/v1/application_fees/fee_1/refunds", json!({})),
            Kind::Refund
        );
        assert_eq!(
            kind(Post, "/v1/transfers/tr_1/reversals", json!({})),
            Kind::Refund
        );
        assert_eq!(
            kind(
                Post,
                "/v1/invoices",
                json!({"customer": "cus_1", "auto_advance": true})
            ),
            Kind::Take
        );
        assert_eq!(
            kind(
                Post,
                "/v1/invoices",
                json!({"customer": "cus_1", "auto_advance": true, "collection_method": "send_invoice"})
            ),
            Kind::Ordinary
        );
        assert_eq!(
            kind(Post, "/v1/invoices/in_1/finalize", json!({})),
            Kind::Take
        );
        assert_eq!(kind(Post, "/v1/invoices/in_1/pay", json!({})), Kind::Take);
        assert_eq!(
            kind(Post, "/v1/invoices/create_preview", json!({})),
            Kind::Ordinary
        );
        assert_eq!(
            kind(
                Post,
                "/v1/subscriptions/sub_1",
                json!({"items": [{"price": "price_1"}]})
            ),
            Kind::Take
        );
        assert_eq!(
            kind(
                Post,
                "/v1/subscriptions/sub_1",
                json!({"cancel_at_period_end": true})
            ),
            Kind::Cancel
        );
        assert_eq!(
            kind(
                Post,
                "/v1/subscriptions/sub_1",
                json!({"metadata": {"a": "b"}})
            ),
            Kind::Ordinary
        );
        assert_eq!(kind(Post, "/v1/checkout/sessions", json!({})), Kind::Take);
        assert_eq!(kind(Post, "/v1/payment_links", json!({})), Kind::Take);
        assert_eq!(
            kind(Post, "/v1/payouts", json!({"amount": 1, "currency": "usd"})),
            Kind::Payout
        );
        assert_eq!(kind(Post, "/v1/transfers", json!({})), Kind::Payout);
        assert_eq!(
            kind(Post, "/v1/payment_intents", json!({"confirm": "true"})),
            Kind::Take
        );
        assert_eq!(kind(Post, "/v1/payment_intents", json!({})), Kind::Ordinary);
        assert_eq!(
            kind(Delete, "/v1/subscriptions/sub_1", json!({})),
            Kind::Cancel
        );
        assert_eq!(
            kind(Delete, "/v1/customers/cus_1", json!({})),
            Kind::Irreversible
        );
        assert_eq!(kind(Post, "/v1/customers", json!({})), Kind::Ordinary);
        assert_eq!(kind(Post, "/v1/brand_new_things", json!({})), Kind::Unknown);
        assert_eq!(
            kind(Post, "/v1/disputes/dp_1", json!({"submit": true})),
            Kind::Irreversible
        );
    }
}
