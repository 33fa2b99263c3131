//! MCP Apps views (the `io.modelcontextprotocol/ui` extension, revision 2026-01-26): three
//! self-contained HTML pages bundled into the binary, served as `ui://stripe-mcp/...`
//! resources and linked from the tools whose results they draw. What every view needs (the
//! host's postMessage protocol, element and amount helpers) is written once, in
//! `ui/common.js`, and put in place of each page's `//@common.js` line when the page is
//! first served ([`View::html`]); each page's CSP pins the whole script by hash.
//!
//! Offered only to a client that declares the extension (and not with `--no-ui`): any
//! other client sees exactly the tools, resources and results it saw before. A view gets
//! its data from the tool result's `structuredContent`, which leaves through the same
//! exit (secret scrubbing, `--redact`) as the text; views call no tools of their own
//! except the read-only one they were opened for (a refresh).

use std::sync::LazyLock;

use rmcp::model::{
    ClientCapabilities, MetaObject, ReadResourceResult, Resource, ResourceContents, Tool,
};
use serde_json::json;

/// What every view's script shares, put where its page says `//@common.js`. A change to it
/// changes every page's script hash: `scripts/pin-ui-csp` pins the new ones, and the test
/// `every_view_is_small_self_contained_and_pins_its_script_and_style_by_hash` names them.
const COMMON_JS: &str = include_str!("ui/common.js");

/// The line of a page that [`COMMON_JS`] replaces (the whole line, whatever follows).
const COMMON_MARK: &str = "  //@common.js";

/// The extension's identifier in the client's `capabilities.extensions`.
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/ui";

/// The MIME type of an MCP Apps HTML view.
pub const MIME_TYPE: &str = "text/html;profile=mcp-app";

/// Every view's URI starts so.
pub const URI_PREFIX: &str = "ui://stripe-mcp/";

/// One view: a page and the tools whose results it draws.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// `ui://stripe-mcp/<name>`.
    pub uri: &'static str,
    /// The resource's programmatic name.
    pub name: &'static str,
    /// What a person sees as its title.
    pub title: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// The page as written, with its `//@common.js` line (see [`View::html`]).
    page: &'static str,
    /// The tools that link to it: it is offered only when one of them is listed.
    pub tools: &'static [&'static str],
}

/// The views, each at most 100 KB.
pub const VIEWS: &[View] = &[
    View {
        uri: "ui://stripe-mcp/books",
        name: "books",
        title: "Books",
        description: "Balance totals per currency and a chart of gross, refunds, fees and payouts by day or week; MRR and ARR per currency with the top plans.",
        page: include_str!("ui/books.html"),
        tools: &["summarize_balance_transactions", "summarize_subscriptions"],
    },
    View {
        uri: "ui://stripe-mcp/checkout",
        name: "checkout",
        title: "Checkout",
        description: "A checkout: what is sold, the total, the expiry, the payment link with a QR code, the status.",
        page: include_str!("ui/checkout.html"),
        tools: &["initiate_checkout", "get_checkout_session"],
    },
    View {
        uri: "ui://stripe-mcp/order",
        name: "order",
        title: "Order",
        description: "An order's timeline from the webhook ledger, or a list of orders.",
        page: include_str!("ui/order.html"),
        tools: &["get_order_status", "list_orders"],
    },
];

/// Every view's page as served, in the order of [`VIEWS`]: built once, when first read.
static PAGES: LazyLock<Vec<String>> =
    LazyLock::new(|| VIEWS.iter().map(|v| compose(v.page)).collect());

/// `page` with its `//@common.js` line replaced by [`COMMON_JS`].
fn compose(page: &str) -> String {
    let mut out = String::with_capacity(page.len() + COMMON_JS.len());
    for line in page.split_inclusive('\n') {
        if line.starts_with(COMMON_MARK) {
            out.push_str(COMMON_JS);
        } else {
            out.push_str(line);
        }
    }
    out
}

impl View {
    /// The whole page as served: inline script and style, no network.
    pub fn html(&self) -> &'static str {
        let at = VIEWS
            .iter()
            .position(|v| v.uri == self.uri)
            .expect("a view is one of VIEWS");
        &PAGES[at]
    }
}

/// The view a tool's result is drawn in, if any.
pub fn view_of(tool: &str) -> Option<&'static View> {
    VIEWS.iter().find(|v| v.tools.contains(&tool))
}

/// True when the client declared the extension with HTML views (under
/// `capabilities.extensions`, or `experimental` as hosts did before SEP-1724). A declaration
/// that lists `mimeTypes` must list [`MIME_TYPE`].
pub fn client_supports(capabilities: Option<&ClientCapabilities>) -> bool {
    let Some(caps) = capabilities else {
        return false;
    };
    let declared = caps
        .extensions
        .as_ref()
        .and_then(|e| e.get(EXTENSION_ID))
        .or_else(|| caps.experimental.as_ref().and_then(|e| e.get(EXTENSION_ID)));
    let Some(settings) = declared else {
        return false;
    };
    match settings.get("mimeTypes") {
        None => true,
        Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == MIME_TYPE),
        Some(_) => false,
    }
}

/// `tools` with `_meta.ui.resourceUri` on those that have a view; nothing else changes.
pub fn link_tools(tools: &[Tool]) -> Vec<Tool> {
    tools
        .iter()
        .map(|tool| {
            let mut tool = tool.clone();
            if let Some(view) = view_of(&tool.name) {
                let mut meta = tool.meta.take().unwrap_or_default();
                meta.0
                    .insert("ui".into(), json!({ "resourceUri": view.uri }));
                tool.meta = Some(meta);
            }
            tool
        })
        .collect()
}

/// The views whose tools are among `listed` (a view follows the tool allowlist).
pub fn views_for<'a>(listed: impl IntoIterator<Item = &'a str>) -> Vec<&'static View> {
    let listed: Vec<&str> = listed.into_iter().collect();
    VIEWS
        .iter()
        .filter(|v| v.tools.iter().any(|t| listed.contains(t)))
        .collect()
}

/// `_meta.ui` of a view's resource: no network at all (empty CSP domain lists are the
/// extension's default and say so explicitly), and a border from the host.
fn resource_meta() -> MetaObject {
    let mut meta = MetaObject::default();
    meta.0.insert(
        "ui".into(),
        json!({ "csp": { "connectDomains": [], "resourceDomains": [] }, "prefersBorder": true }),
    );
    meta
}

/// The view as `resources/list` shows it.
pub fn resource(view: &View) -> Resource {
    Resource::new(view.uri, view.name)
        .with_title(view.title)
        .with_description(view.description)
        .with_mime_type(MIME_TYPE)
        .with_meta(resource_meta())
}

/// The view as `resources/read` returns it; the server hands it to the one exit
/// ([`crate::egress::Egress::page`]), whose secret scrubbing is a no-op on these pages
/// (a test checks), but one road out for all content.
pub fn read(view: &View) -> ReadResourceResult {
    ReadResourceResult::new(vec![
        ResourceContents::text(view.html(), view.uri)
            .with_mime_type(MIME_TYPE)
            .with_meta(resource_meta()),
    ])
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::*;

    /// The text between the first `open` tag and its closing tag.
    fn block<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
        let start = html.find(open).expect(open) + open.len();
        let end = start + html[start..].find(close).expect(close);
        &html[start..end]
    }

    fn hash(s: &str) -> String {
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
        )
    }

    #[test]
    fn every_view_is_small_self_contained_and_pins_its_script_and_style_by_hash() {
        for view in VIEWS {
            assert!(
                view.html().len() <= 100 * 1024,
                "{}: {} bytes",
                view.name,
                view.html().len()
            );
            assert!(view.uri.starts_with(URI_PREFIX));
            let csp = block(
                view.html(),
                "http-equiv=\"Content-Security-Policy\" content=\"",
                "\"",
            );
            assert!(
                csp.starts_with("default-src 'none';"),
                "{}: {csp}",
                view.name
            );
            assert!(!csp.contains("unsafe"), "{}: {csp}", view.name);
            let script = block(view.html(), "<script>", "</script>");
            let style = block(view.html(), "<style>", "</style>");
            assert!(
                csp.contains(&format!("script-src {}", hash(script))),
                "{}: the CSP must pin script-src {}",
                view.name,
                hash(script)
            );
            assert!(
                csp.contains(&format!("style-src {}", hash(style))),
                "{}: the CSP must pin style-src {}",
                view.name,
                hash(style)
            );
            assert_eq!(view.html().matches("<script").count(), 1, "{}", view.name);
            // The SVG namespace is a name, not an address.
            let script = script.replace("\"http://www.w3.org/2000/svg\"", "SVG_NS");
            for remote in [
                "http://",
                "https://",
                "src=",
                "@import",
                "url(",
                "fetch(",
                "XMLHttpRequest",
                "WebSocket",
                "innerHTML",
                "eval(",
            ] {
                assert!(
                    !script.contains(remote) && !style.contains(remote),
                    "{}: {remote}",
                    view.name
                );
            }
        }
    }

    #[test]
    fn the_secret_scrubbing_leaves_every_view_intact() {
        for view in VIEWS {
            assert_eq!(
                crate::egress::scrub::redact(view.html()),
                view.html(),
                "{}",
                view.name
            );
        }
    }

    #[test]
    fn the_extension_counts_only_when_declared_with_html_views() {
        let caps =
            |v: serde_json::Value| -> ClientCapabilities { serde_json::from_value(v).unwrap() };
        assert!(!client_supports(None));
        assert!(!client_supports(Some(&caps(json!({})))));
        assert!(client_supports(Some(&caps(
            json!({"extensions": {EXTENSION_ID: {"mimeTypes": [MIME_TYPE]}}})
        ))));
        assert!(client_supports(Some(&caps(
            json!({"experimental": {EXTENSION_ID: {"mimeTypes": [MIME_TYPE]}}})
        ))));
        assert!(!client_supports(Some(&caps(
            json!({"extensions": {EXTENSION_ID: {"mimeTypes": ["text/uri-list"]}}})
        ))));
        assert!(!client_supports(Some(&caps(
            json!({"extensions": {"io.example/other": {}}})
        ))));
    }

    #[test]
    fn views_follow_the_tool_allowlist() {
        let names = |vs: Vec<&View>| vs.iter().map(|v| v.name).collect::<Vec<_>>();
        assert_eq!(names(views_for(["get_balance"])), Vec::<&str>::new());
        assert_eq!(names(views_for(["get_checkout_session"])), vec!["checkout"]);
        assert_eq!(
            names(views_for(["list_orders", "summarize_balance_transactions"])),
            vec!["books", "order"]
        );
    }
}
