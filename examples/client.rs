//! A small MCP client that drives stripe-mcp over stdio: lists the tools, then
//! reads the balance and the newest customers.
//!
//! ```sh
//! cargo build --release
//! STRIPE_SECRET_KEY=sk_test_... cargo run --example client
//! ```
//! It spawns `target/release/stripe-mcp` (or the path in `STRIPE_MCP_BIN`),
//! which reads the key from the environment it inherits.

use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{ConfigureCommandExt, TokioChildProcess},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bin = std::env::var("STRIPE_MCP_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/stripe-mcp").to_owned()
    });
    let transport = TokioChildProcess::new(tokio::process::Command::new(bin).configure(|cmd| {
        cmd.arg("--tools=all");
    }))?;
    let client = ().serve(transport).await?;

    if let Some(info) = client.peer_info() {
        eprintln!("connected to {:?}", info.server_info);
    }
    for tool in client.list_all_tools().await? {
        println!(
            "{:<20} {}",
            tool.name,
            tool.description
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or("")
        );
    }

    for (name, args) in [
        ("get_balance", serde_json::json!({})),
        ("list_customers", serde_json::json!({"limit": 3})),
    ] {
        let serde_json::Value::Object(args) = args else {
            unreachable!()
        };
        let result = client
            .call_tool(CallToolRequestParams::new(name).with_arguments(args))
            .await?;
        let body = match (&result.structured_content, result.is_error) {
            (Some(v), _) => serde_json::to_string_pretty(v)?,
            (None, _) => result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        println!(
            "\n{name}{}:\n{body}",
            if result.is_error == Some(true) {
                " (error)"
            } else {
                ""
            }
        );
    }
    client.cancel().await?;
    Ok(())
}
