//! Coupons: `create_coupon` and `list_coupons`.

use std::collections::BTreeMap;

use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{
    Amount, Money, ToolError, check_metadata, check_text, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey,
        coupons::{Coupon, CouponDuration, CreateCoupon},
        currency,
    },
    tools::StripeMcp,
};

/// A coupon as the tools show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CouponSummary {
    /// The coupon's id (its code when applying it).
    pub id: String,
    /// The name customers see, if set.
    pub name: Option<String>,
    /// Percent off (e.g. 25 or 12.5), for a percentage coupon.
    pub percent_off: Option<f64>,
    /// Fixed amount off, for an amount coupon.
    pub amount_off: Option<Money>,
    /// once, repeating or forever.
    pub duration: Option<String>,
    /// With repeating: for how many months.
    pub duration_in_months: Option<u32>,
    /// How many times it can be redeemed in total, if limited.
    pub max_redemptions: Option<u64>,
    /// How many times it was redeemed.
    pub times_redeemed: Option<u64>,
    /// Last time it can be redeemed (Unix seconds), if limited.
    pub redeem_by: Option<i64>,
    /// Whether it can still be applied.
    pub valid: Option<bool>,
}

impl From<Coupon> for CouponSummary {
    fn from(c: Coupon) -> Self {
        CouponSummary {
            amount_off: c
                .amount_off
                .zip(c.currency.as_deref())
                .map(|(a, cur)| Money::new(a, cur)),
            id: c.id,
            name: c.name,
            percent_off: c.percent_off,
            duration: c.duration,
            duration_in_months: c.duration_in_months,
            max_redemptions: c.max_redemptions,
            times_redeemed: c.times_redeemed,
            redeem_by: c.redeem_by,
            valid: c.valid,
        }
    }
}

/// Arguments of `create_coupon`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCouponArgs {
    /// Percent off, >0 to 100 (12.5 ok); or amount_off.
    pub percent_off: Option<f64>,
    /// Fixed discount in minor units (500 = $5.00), with currency.
    pub amount_off: Option<Amount>,
    /// With amount_off: three-letter lowercase ISO currency code, e.g. "usd".
    pub currency: Option<String>,
    /// once, repeating (with duration_in_months) or forever.
    pub duration: CouponDuration,
    /// With repeating only: for how many months (1 to 120).
    #[schemars(range(min = 1, max = 120))]
    pub duration_in_months: Option<u32>,
    /// Your code, e.g. "SUMMER25" (letters, digits, -, _; ≤100). Default: Stripe's.
    pub id: Option<String>,
    /// Name shown to customers on invoices and receipts (at most 40 characters).
    pub name: Option<String>,
    /// How many times the coupon can be redeemed in total (at least 1).
    #[schemars(range(min = 1))]
    pub max_redemptions: Option<u32>,
    /// Last time the coupon can be redeemed, as Unix seconds in the future.
    pub redeem_by: Option<i64>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// What `create_coupon` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreateCouponOutput {
    /// The new coupon.
    pub coupon: CouponSummary,
    /// The key this coupon was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Checks a coupon id: Stripe lets merchants choose it, so it has no prefix.
fn check_coupon_id(field: &str, raw: &str) -> Result<String, ToolError> {
    if raw.is_empty()
        || raw.len() > 100
        || !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ToolError::invalid(format!(
            "{field} {raw:?} is not a coupon id: use 1 to 100 letters, digits, - and _ (e.g. SUMMER25)"
        )));
    }
    Ok(raw.to_owned())
}

/// Validates `create_coupon`'s arguments; `now` is Unix seconds. Nothing is sent.
pub fn build_request(
    args: CreateCouponArgs,
    now: i64,
) -> Result<(CreateCoupon, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let (percent_off, amount_off, currency) = match (args.percent_off, args.amount_off) {
        (Some(p), None) => {
            if args.currency.is_some() {
                return Err(ToolError::invalid(
                    "currency applies only with amount_off; a percentage coupon works in every currency",
                ));
            }
            if !(p > 0.0 && p <= 100.0) {
                return Err(ToolError::invalid(format!(
                    "percent_off must be more than 0 and at most 100 (e.g. 25 for 25% off), got {p}"
                )));
            }
            (Some(p), None, None)
        }
        (None, Some(a)) => {
            let c = args.currency.ok_or_else(|| {
                ToolError::invalid(
                    "amount_off needs currency: a lowercase ISO code such as \"usd\"",
                )
            })?;
            let c = currency::parse_currency(&c)
                .map_err(|m| ToolError::invalid(format!("currency: {m}")))?;
            let a = a.minor_units("amount_off", Some(&c))?;
            if a == 0 {
                return Err(ToolError::invalid(
                    "amount_off must be at least 1 (smallest currency unit)",
                ));
            }
            (None, Some(a), Some(c))
        }
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid(
                "give percent_off or amount_off, not both",
            ));
        }
        (None, None) => {
            return Err(ToolError::invalid(
                "say how big the discount is: percent_off (e.g. 25) or amount_off (smallest currency unit) + currency",
            ));
        }
    };
    let duration_in_months = match (args.duration, args.duration_in_months) {
        (CouponDuration::Repeating, Some(m)) if (1..=120).contains(&m) => Some(m),
        (CouponDuration::Repeating, Some(m)) => {
            return Err(ToolError::invalid(format!(
                "duration_in_months must be between 1 and 120, got {m}"
            )));
        }
        (CouponDuration::Repeating, None) => {
            return Err(ToolError::invalid(
                "duration \"repeating\" needs duration_in_months: for how many months the discount applies",
            ));
        }
        (_, Some(_)) => {
            return Err(ToolError::invalid(
                "duration_in_months applies only with duration \"repeating\"",
            ));
        }
        (_, None) => None,
    };
    if args.max_redemptions == Some(0) {
        return Err(ToolError::invalid(
            "max_redemptions must be at least 1; omit it for no limit",
        ));
    }
    if let Some(t) = args.redeem_by
        && t <= now
    {
        return Err(ToolError::invalid(format!(
            "redeem_by must be a future time in Unix seconds (now is about {now}), got {t}"
        )));
    }
    Ok((
        CreateCoupon {
            id: args.id.map(|i| check_coupon_id("id", &i)).transpose()?,
            percent_off,
            amount_off,
            currency,
            duration: args.duration,
            duration_in_months,
            name: args.name.map(|n| check_text("name", &n, 40)).transpose()?,
            max_redemptions: args.max_redemptions,
            redeem_by: args.redeem_by,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// Arguments of `list_coupons`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCouponsArgs {
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// What `list_coupons` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListCouponsOutput {
    /// Newest first.
    pub coupons: Vec<CouponSummary>,
    /// True when more coupons follow.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

#[tool_router(router = coupons_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Create a discount coupon (percent_off or amount_off + currency) for once, repeating months or forever.
    #[tool(annotations(
        title = "Create a coupon",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_coupon(
        &self,
        Parameters(args): Parameters<CreateCouponArgs>,
    ) -> Result<Json<CreateCouponOutput>, ToolError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let (params, key) = build_request(args, now)?;
        let coupon = self
            .write(self.client.create_coupon(&params, &key), &key)
            .await?;
        Ok(Json(CreateCouponOutput {
            coupon: coupon.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// List coupons, newest first: id, name, discount, duration, redemptions, valid.
    #[tool(annotations(
        title = "List coupons",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_coupons(
        &self,
        Parameters(args): Parameters<ListCouponsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListCouponsOutput>, ToolError> {
        let limit = pagination::check_limit(args.limit)?;
        let starting_after = args
            .starting_after
            .map(|s| check_coupon_id("starting_after", &s))
            .transpose()?;
        let page: Listed<Coupon> = pagination::list(
            self,
            "/v1/coupons",
            &(),
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListCouponsOutput {
            coupons: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn build(v: serde_json::Value) -> Result<CreateCoupon, ToolError> {
        build_request(serde_json::from_value(v).unwrap(), NOW).map(|(p, _)| p)
    }

    #[test]
    fn a_percentage_coupon_may_have_decimals() {
        let p = build(
            json!({"percent_off": 12.5, "duration": "once", "id": "SAVE-12_5", "name": "Spring"}),
        )
        .unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "id=SAVE-12_5&percent_off=12.5&duration=once&name=Spring"
        );
        assert!(build(json!({"percent_off": 0, "duration": "once"})).is_err());
        assert!(build(json!({"percent_off": 100.5, "duration": "once"})).is_err());
        assert!(build(json!({"percent_off": 100, "duration": "forever"})).is_ok());
        assert!(build(json!({"percent_off": 10, "currency": "usd", "duration": "once"})).is_err());
    }

    #[test]
    fn an_amount_coupon_needs_a_currency_and_minor_units() {
        let p = build(json!({"amount_off": 500, "currency": "USD", "duration": "repeating", "duration_in_months": 3,
            "max_redemptions": 10, "redeem_by": NOW + 86_400})).unwrap();
        assert_eq!(
            (p.amount_off, p.currency.as_deref()),
            (Some(500), Some("usd"))
        );
        assert!(
            build(json!({"amount_off": 500, "duration": "once"}))
                .unwrap_err()
                .message
                .contains("currency")
        );
        assert!(
            build(json!({"amount_off": 5.5, "currency": "usd", "duration": "once"}))
                .unwrap_err()
                .message
                .contains("send 550")
        );
        assert!(build(json!({"amount_off": 0, "currency": "usd", "duration": "once"})).is_err());
        assert!(
            build(
                json!({"amount_off": 5, "percent_off": 5, "currency": "usd", "duration": "once"})
            )
            .is_err()
        );
        assert!(build(json!({"duration": "once"})).is_err());
    }

    #[test]
    fn durations_months_redemptions_and_dates_are_checked() {
        assert!(
            build(json!({"percent_off": 5, "duration": "repeating"}))
                .unwrap_err()
                .message
                .contains("duration_in_months")
        );
        assert!(
            build(json!({"percent_off": 5, "duration": "once", "duration_in_months": 2})).is_err()
        );
        assert!(
            build(json!({"percent_off": 5, "duration": "repeating", "duration_in_months": 0}))
                .is_err()
        );
        assert!(
            build(json!({"percent_off": 5, "duration": "once", "max_redemptions": 0})).is_err()
        );
        assert!(
            build(json!({"percent_off": 5, "duration": "once", "redeem_by": NOW - 1})).is_err()
        );
        assert!(
            build(json!({"percent_off": 5, "duration": "once", "name": "x".repeat(41)})).is_err()
        );
        assert!(build(json!({"percent_off": 5, "duration": "once", "id": "has space"})).is_err());
    }
}
