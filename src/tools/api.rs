//! `stripe_api_search` and `stripe_api_details`: the whole Stripe API within reach,
//! from the index of its OpenAPI description ([`crate::stripe::api_index`]); and the
//! lookup the generic calls are checked with.

use std::collections::BTreeMap;

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{ToolError, check_text};
use crate::{
    stripe::api_index::{self, Lookup, Operation, Param},
    tools::StripeMcp,
};

/// The most bytes one `stripe_api_details` answer may take in a model's context.
pub const DETAILS_MAX_BYTES: usize = 12_000;
/// The most operations one search returns.
pub const SEARCH_MAX: u32 = 10;

/// Arguments of `stripe_api_search`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSearchArgs {
    /// What to do, in words, e.g. "refund an application fee".
    pub query: String,
    /// How many operations, 1 to 10. Default 5.
    #[schemars(range(min = 1, max = 10))]
    pub limit: Option<u32>,
}

/// One operation found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OperationSummary {
    /// GET, POST or DELETE.
    pub method: String,
    /// The path template; {x} is an id.
    pub path: String,
    /// What it does.
    pub summary: String,
}

/// What `stripe_api_search` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiSearchOutput {
    /// The best matches, best first.
    pub operations: Vec<OperationSummary>,
    /// The API description searched.
    pub index: String,
}

/// An HTTP method of Stripe's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ApiMethod {
    /// Read.
    Get,
    /// Create, update or act.
    Post,
    /// Delete.
    Delete,
}

impl ApiMethod {
    /// The method as Stripe's index spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiMethod::Get => "GET",
            ApiMethod::Post => "POST",
            ApiMethod::Delete => "DELETE",
        }
    }
}

/// Arguments of `stripe_api_details`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiDetailsArgs {
    /// GET, POST or DELETE.
    pub method: ApiMethod,
    /// A path template or a real path, e.g. /v1/invoices/{invoice}/void or /v1/invoices/in_1/void.
    pub path: String,
    /// Only this parameter, in full (e.g. payment_method_options.card).
    pub param: Option<String>,
}

/// What `stripe_api_details` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiDetailsOutput {
    /// GET, POST or DELETE.
    pub method: String,
    /// The path template.
    pub path: String,
    /// What it does.
    pub summary: String,
    /// True for POST and DELETE: stripe_api_write calls it; GET: stripe_api_read.
    pub writes: bool,
    /// The id prefix of each {path parameter}, where known, e.g. {"invoice": "in_"}.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub path_ids: BTreeMap<String, String>,
    /// One line per parameter: name (type, required, values): description. Object fields
    /// as parent.field, array items as parent[].field; {a, b} lists fields not shown.
    pub params: Vec<String>,
    /// What was summarised to fit, and how to see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The API description this comes from.
    pub index: String,
}

/// The operation `method path` is, or the refusal: the path matches no operation (the
/// closest ones named) or not with this method (the methods it has).
pub fn resolve(method: &str, path: &str) -> Result<&'static Operation, ToolError> {
    let index = api_index::index();
    match index.lookup(method, path) {
        Lookup::Found(op) => Ok(op),
        Lookup::OtherMethods(methods) => Err(ToolError::invalid(format!(
            "{method} {path} is not an operation of Stripe's API; this path takes {}",
            methods.join(" or ")
        ))
        .with_hint(
            "GET reads (stripe_api_read); POST and DELETE write (stripe_api_write). stripe_api_details shows what each takes.",
        )),
        Lookup::NoPath(near) => {
            let near: Vec<String> = near
                .iter()
                .map(|op| format!("{} {}", op.method, op.path))
                .collect();
            Err(ToolError::invalid(format!(
                "{path} matches no operation of Stripe's API ({}); did you mean {}?",
                index.source,
                near.join(", or ")
            ))
            .with_hint(
                "Find the operation with stripe_api_search (e.g. \"void invoice\"); {x} in a path is an id.",
            ))
        }
    }
}

/// Validates `stripe_api_search` arguments and searches. Nothing is sent.
pub fn search(args: ApiSearchArgs) -> Result<ApiSearchOutput, ToolError> {
    let query = check_text("query", &args.query, 200)?;
    let limit = match args.limit {
        None => 5,
        Some(l) if (1..=SEARCH_MAX).contains(&l) => l,
        Some(l) => {
            return Err(ToolError::invalid(format!(
                "limit must be between 1 and {SEARCH_MAX}, got {l}"
            )));
        }
    };
    let index = api_index::index();
    let operations: Vec<OperationSummary> = index
        .search(&query, limit as usize)
        .into_iter()
        .map(|op| OperationSummary {
            method: op.method.clone(),
            path: op.path.clone(),
            summary: op.summary.clone(),
        })
        .collect();
    if operations.is_empty() {
        return Err(ToolError::invalid(format!(
            "no operation of Stripe's API matches {query:?}"
        ))
        .with_hint("Use the words of the object and the action, e.g. \"create refund\", \"list payouts\", \"void invoice\"."));
    }
    Ok(ApiSearchOutput {
        operations,
        index: index.source.clone(),
    })
}

/// How much of the parameters one rendering shows.
#[derive(Debug, Clone, Copy)]
struct Detail {
    /// Fields nested deeper than this are named inside their parent's line, not described.
    depth: usize,
    /// Nested fields keep their description.
    nested_descriptions: bool,
    /// The most enum values shown on one line.
    values: usize,
}

/// From the most detailed down: the first that fits [`DETAILS_MAX_BYTES`] is answered.
const DETAILS: &[Detail] = &[
    Detail {
        depth: 9,
        nested_descriptions: true,
        values: 40,
    },
    Detail {
        depth: 9,
        nested_descriptions: false,
        values: 20,
    },
    Detail {
        depth: 3,
        nested_descriptions: false,
        values: 12,
    },
    Detail {
        depth: 2,
        nested_descriptions: false,
        values: 8,
    },
    Detail {
        depth: 1,
        nested_descriptions: false,
        values: 6,
    },
];

/// A list of names, cut after `max` with how many more.
fn names_list<'a>(names: impl Iterator<Item = &'a str>, max: usize) -> String {
    let all: Vec<&str> = names.collect();
    let mut s = all.iter().take(max).copied().collect::<Vec<_>>().join(", ");
    if all.len() > max {
        s.push_str(&format!(", …{} more", all.len() - max));
    }
    s
}

fn render(p: &Param, name: &str, depth: usize, d: Detail, out: &mut Vec<String>) {
    let mut facts = vec![p.ty.clone()];
    if p.required {
        facts.push("required".into());
    }
    if p.unsettable {
        facts.push("\"\" unsets".into());
    }
    let mut line = format!("{name} ({}", facts.join(", "));
    if !p.values.is_empty() {
        line.push_str(&format!(
            "; one of: {}",
            names_list(p.values.iter().map(String::as_str), d.values)
        ));
    }
    let has_fields = !p.fields.is_empty() || !p.more.is_empty();
    let expand = has_fields && depth < d.depth && !p.fields.is_empty();
    if has_fields && !expand {
        line.push_str(&format!(
            "; fields: {{{}}}",
            names_list(p.field_names(), 24)
        ));
    }
    if p.open {
        line.push_str("; any keys");
    }
    line.push(')');
    if let Some(desc) = &p.description
        && (depth == 1 || d.nested_descriptions)
    {
        line.push_str(": ");
        line.push_str(desc);
    }
    out.push(line);
    if expand {
        let prefix = if p.ty.starts_with("array of") {
            format!("{name}[].")
        } else {
            format!("{name}.")
        };
        for f in &p.fields {
            render(f, &format!("{prefix}{}", f.name), depth + 1, d, out);
        }
        if !p.more.is_empty() {
            out.push(format!(
                "{prefix}{{{}}}",
                names_list(p.more.iter().map(String::as_str), 24)
            ));
        }
    }
}

/// The parameter a dotted name (`payment_method_options.card`, `line_items[].price_data`) names.
fn find_param<'a>(op: &'a Operation, dotted: &str) -> Option<&'a Param> {
    let mut parts = dotted.split('.').map(|s| s.trim_end_matches("[]"));
    let mut p = op.param(parts.next()?)?;
    for part in parts {
        p = p.fields.iter().find(|f| f.name == part)?;
    }
    Some(p)
}

/// Validates `stripe_api_details` arguments and describes the operation within
/// [`DETAILS_MAX_BYTES`]. Nothing is sent.
pub fn details(args: ApiDetailsArgs) -> Result<ApiDetailsOutput, ToolError> {
    check_text("path", &args.path, 512)?;
    let op = resolve(args.method.as_str(), &args.path)?;
    let index = api_index::index();
    let selected: Vec<(&Param, String)> = match &args.param {
        None => op.params.iter().map(|p| (p, p.name.clone())).collect(),
        Some(name) => match find_param(op, name) {
            Some(p) => vec![(p, name.clone())],
            None => {
                let top = name.split(['.', '[']).next().unwrap_or(name);
                let near = api_index::closest(top, op.params.iter().map(|p| p.name.as_str()));
                return Err(ToolError::invalid(format!(
                    "{} {} has no parameter {name:?}{}",
                    op.method,
                    op.path,
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!("; did you mean {}?", near.join(", "))
                    }
                ))
                .with_hint("Call stripe_api_details without param to list them all."));
            }
        },
    };
    let mut answer = ApiDetailsOutput {
        method: op.method.clone(),
        path: op.path.clone(),
        summary: op.summary.clone(),
        writes: op.writes(),
        path_ids: op.ids.clone(),
        params: Vec::new(),
        note: None,
        index: index.source.clone(),
    };
    let size = |a: &ApiDetailsOutput| serde_json::to_string(a).map_or(usize::MAX, |s| s.len());
    for (i, d) in DETAILS.iter().enumerate() {
        answer.params.clear();
        for (p, name) in &selected {
            render(p, name, 1, *d, &mut answer.params);
        }
        answer.note = (i > 0).then(|| {
            format!(
                "Summarised to fit: fields nested deeper than {} levels are named in {{braces}}{}. Ask again with param (e.g. {}) to see one parameter in full.",
                d.depth.min(9),
                if d.nested_descriptions { "" } else { ", nested fields have no description" },
                selected
                    .iter()
                    .find(|(p, _)| !p.fields.is_empty())
                    .map_or("metadata", |(_, n)| n.as_str())
            )
        });
        if size(&answer) <= DETAILS_MAX_BYTES {
            return Ok(answer);
        }
    }
    // Even one line per parameter is too long: keep what fits and say what is left.
    let all = answer.params.len();
    while size(&answer) > DETAILS_MAX_BYTES && !answer.params.is_empty() {
        answer.params.pop();
        answer.note = Some(format!(
            "{} of {all} parameters shown; ask with param for the others.",
            answer.params.len()
        ));
    }
    Ok(answer)
}

#[tool_router(router = api_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Find Stripe API operations by what they do, e.g. "void invoice": method, path and summary, best first. Then stripe_api_details for the parameters; call them with stripe_api_read (GET) or stripe_api_write.
    #[tool(annotations(
        title = "Search Stripe's API",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn stripe_api_search(
        &self,
        Parameters(args): Parameters<ApiSearchArgs>,
    ) -> Result<Json<ApiSearchOutput>, ToolError> {
        search(args).map(Json)
    }

    /// One Stripe API operation's parameters: types, required, values, nested fields (compact; deep nesting summarised, see one parameter in full with param).
    #[tool(annotations(
        title = "Stripe API operation details",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn stripe_api_details(
        &self,
        Parameters(args): Parameters<ApiDetailsArgs>,
    ) -> Result<Json<ApiDetailsOutput>, ToolError> {
        details(args).map(Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn details_of(v: serde_json::Value) -> ApiDetailsOutput {
        details(serde_json::from_value(v).unwrap()).unwrap()
    }

    #[test]
    fn checkout_session_details_fit_and_show_price_data_fields() {
        let d = details_of(json!({"method": "POST", "path": "/v1/checkout/sessions"}));
        let bytes = serde_json::to_string(&d).unwrap().len();
        assert!(bytes <= DETAILS_MAX_BYTES, "{bytes}");
        let text = d.params.join("\n");
        for field in ["currency", "unit_amount", "product_data", "recurring"] {
            assert!(
                text.contains(&format!("line_items[].price_data.{field}"))
                    || d.params
                        .iter()
                        .any(|l| l.starts_with("line_items[].price_data (") && l.contains(field)),
                "{field} missing:\n{text}"
            );
        }
        assert!(d.note.is_some());
        assert!(
            text.contains("mode (string; one of: payment, setup, subscription)"),
            "{text}"
        );
    }

    #[test]
    fn one_parameter_is_shown_in_full() {
        let d = details_of(json!({"method": "POST", "path": "/v1/checkout/sessions",
                                  "param": "line_items"}));
        assert!(
            d.params
                .iter()
                .any(|l| l
                    .starts_with("line_items[].price_data.product_data.name (string, required")),
            "{:#?}",
            d.params
        );
        assert!(d.note.is_none());
    }

    #[test]
    fn every_operation_answers_within_the_bound() {
        for op in &api_index::index().ops {
            let d = details_of(json!({"method": op.method, "path": op.path}));
            let bytes = serde_json::to_string(&d).unwrap().len();
            assert!(
                bytes <= DETAILS_MAX_BYTES,
                "{} {}: {bytes}",
                op.method,
                op.path
            );
        }
    }

    #[test]
    fn an_unknown_path_is_refused_with_the_closest_operations() {
        let e = resolve("POST", "/v1/invoice/in_1/void").unwrap_err();
        assert!(
            e.message.contains("POST /v1/invoices/{invoice}/void"),
            "{}",
            e.message
        );
        let e = resolve("DELETE", "/v1/invoices/in_1/void").unwrap_err();
        assert!(e.message.contains("takes POST"), "{}", e.message);
    }
}
