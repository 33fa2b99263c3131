//! The `tools/list` reply is a reviewed contract: names, descriptions, schemas
//! and annotations. A change to it shows up as a diff of `tests/golden/tools_list.json`
//! (regenerate with `UPDATE_GOLDEN=1 cargo test --test tools_list`, then review).

mod common;

use serde_json::Value;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/tools_list.json");

async fn listed_tools() -> Value {
    // No request reaches Stripe while listing tools.
    let stripe = common::mock_stripe().await;
    let server = common::Spawn::new(&stripe.uri()).start().await;
    let tools = server.client.list_all_tools().await.unwrap();
    server.stop().await;
    serde_json::to_value(tools).unwrap()
}

#[tokio::test]
async fn tools_list_matches_the_golden_file() {
    let got = listed_tools().await;
    let pretty = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &pretty).unwrap();
        eprintln!("wrote {GOLDEN}");
        return;
    }
    let want = std::fs::read_to_string(GOLDEN)
        .unwrap_or_else(|e| panic!("{GOLDEN}: {e}; create it with UPDATE_GOLDEN=1"));
    assert!(
        pretty == want,
        "tools/list changed; if intended, regenerate with UPDATE_GOLDEN=1 and review the diff.\n--- got ---\n{pretty}"
    );
}

#[tokio::test]
async fn every_tool_is_annotated_described_and_has_an_output_schema() {
    let tools = listed_tools().await;
    for tool in tools.as_array().unwrap() {
        let name = tool["name"].as_str().unwrap();
        let a = &tool["annotations"];
        for hint in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(a[hint].is_boolean(), "{name}: {hint} missing");
        }
        assert!(
            tool["description"].as_str().is_some_and(|d| d.len() > 40),
            "{name}: description"
        );
        assert_eq!(
            tool["outputSchema"]["type"], "object",
            "{name}: outputSchema"
        );
        let props = tool["inputSchema"]["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (arg, schema) in props {
            assert!(
                schema["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{name}.{arg} has no description"
            );
        }
    }
}

#[tokio::test]
async fn writes_that_move_money_out_are_annotated_destructive_and_reads_read_only() {
    let tools = listed_tools().await;
    let by_name = |n: &str| {
        tools
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_name("create_refund")["annotations"]["destructiveHint"],
        true
    );
    assert_eq!(
        by_name("create_refund")["annotations"]["readOnlyHint"],
        false
    );
    for read in ["get_balance", "list_customers"] {
        assert_eq!(by_name(read)["annotations"]["readOnlyHint"], true, "{read}");
    }
}

#[tokio::test]
async fn docs_tools_md_lists_every_tool() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/tools.md")).unwrap();
    let tools = listed_tools().await;
    for tool in tools.as_array().unwrap() {
        let row = format!("| `{}` |", tool["name"].as_str().unwrap());
        assert!(readme.contains(&row), "docs/tools.md has no row for {row}");
    }
}

async fn tool_names_with(args: &[&str]) -> Vec<String> {
    let stripe = common::mock_stripe().await;
    let uri = stripe.uri();
    let mut spawn = common::Spawn::new(&uri);
    for a in args {
        spawn = spawn.arg(*a);
    }
    let server = spawn.start().await;
    let mut names: Vec<String> = server
        .client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    server.stop().await;
    names.sort();
    names
}

#[tokio::test]
async fn the_official_servers_permission_names_select_the_matching_tools() {
    let names = tool_names_with(&["--tools=customers.read,refunds.create,balance.read"]).await;
    assert_eq!(
        names,
        [
            "create_refund",
            "get_balance",
            "get_customer",
            "list_customers"
        ]
    );
}

#[tokio::test]
async fn read_only_offers_only_tools_annotated_read_only() {
    let all = listed_tools().await;
    let mut want: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["annotations"]["readOnlyHint"] == true)
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    want.sort();
    assert!(want.len() > 10 && want.len() < all.as_array().unwrap().len());
    assert_eq!(tool_names_with(&["--read-only"]).await, want);
    // Naming a write does not get past --read-only.
    assert_eq!(
        tool_names_with(&["--read-only", "--tools=get_balance,create_refund"]).await,
        ["get_balance"]
    );
}

#[tokio::test]
async fn the_generic_write_is_offered_only_when_named() {
    let default = tool_names_with(&[]).await;
    assert!(!default.iter().any(|n| n == "stripe_api_write"));
    assert!(default.iter().any(|n| n == "stripe_api_read"));
    let named = tool_names_with(&["--tools=all,stripe_api_write"]).await;
    assert_eq!(named.len(), default.len() + 1);
    assert!(named.iter().any(|n| n == "stripe_api_write"));
}

#[tokio::test]
async fn the_tools_flag_registers_only_the_named_tools() {
    assert_eq!(
        tool_names_with(&["--tools=get_balance,list_customers"]).await,
        ["get_balance", "list_customers"]
    );
}

#[tokio::test]
async fn the_core_group_offers_the_seven_tools_most_sessions_need() {
    assert_eq!(
        tool_names_with(&["--tools=core"]).await,
        [
            "create_refund",
            "fetch_stripe_resource",
            "get_balance",
            "get_checkout_session",
            "initiate_checkout",
            "list_customers",
            "search_stripe_resources"
        ]
    );
}

#[tokio::test]
async fn groups_and_tool_names_combine_in_one_tools_flag() {
    assert_eq!(
        tool_names_with(&["--tools=refunds,get_payout"]).await,
        ["create_refund", "get_payout", "get_refund", "list_refunds"]
    );
}

#[test]
fn the_orders_group_without_a_ledger_is_refused_with_the_flag_to_add() {
    let out = std::process::Command::new(common::bin())
        .args(["tools", "--tools=orders"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--db"), "{stderr}");
}

#[test]
fn a_reader_that_stops_early_ends_the_tools_report_quietly() {
    // `stripe-mcp tools | head -1`, without the race: the reading end of the pipe is closed
    // before the report is written, so every write meets a closed pipe (EPIPE).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(common::bin())
        .arg("tools")
        .env_clear()
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// `stripe-mcp tools` output: (name, model bytes, output schema bytes) per tool, and the total line.
fn tools_command(args: &[&str]) -> (Vec<(String, usize, usize)>, String) {
    let out = std::process::Command::new(common::bin())
        .arg("tools")
        .args(args)
        // No key: listing what a selection costs needs none.
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut rows = Vec::new();
    let mut total = String::new();
    for line in stdout.lines().skip(1) {
        if line.starts_with("total:") {
            total = line.to_owned();
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 3, "{line}");
        rows.push((
            cols[0].to_owned(),
            cols[1].parse().unwrap(),
            cols[2].parse().unwrap(),
        ));
    }
    (rows, total)
}

#[tokio::test]
async fn the_tools_command_prints_what_each_listed_tool_costs_and_the_total() {
    let (rows, total) = tools_command(&["--tools=core"]);
    let listed = {
        let stripe = common::mock_stripe().await;
        let server = common::Spawn::new(&stripe.uri())
            .arg("--tools=core")
            .start()
            .await;
        let tools = server.client.list_all_tools().await.unwrap();
        server.stop().await;
        tools
    };
    assert_eq!(rows.len(), listed.len());
    for tool in &listed {
        let want = serde_json::json!({
            "name": tool.name,
            "description": tool.description,
            "inputSchema": *tool.input_schema,
        })
        .to_string()
        .len();
        let row = rows.iter().find(|r| r.0 == tool.name).unwrap();
        assert_eq!(row.1, want, "{}", tool.name);
        let output = serde_json::Value::Object((**tool.output_schema.as_ref().unwrap()).clone())
            .to_string()
            .len();
        assert_eq!(row.2, output, "{}", tool.name);
    }
    let sum: usize = rows.iter().map(|r| r.1).sum();
    assert!(
        total.starts_with(&format!("total: 7 tools, {sum} B a model reads")),
        "{total}"
    );
}

#[tokio::test]
async fn schemas_state_the_bounds_the_server_enforces() {
    let tools = listed_tools().await;
    let by_name = |n: &str| {
        tools
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .cloned()
            .unwrap()["inputSchema"]
            .clone()
    };
    let checkout = by_name("initiate_checkout");
    assert_eq!(checkout["properties"]["quantity"]["minimum"], 1);
    assert_eq!(checkout["properties"]["expires_in_minutes"]["minimum"], 30);
    assert_eq!(
        checkout["properties"]["expires_in_minutes"]["maximum"],
        1440
    );
    assert_eq!(
        checkout["properties"]["line_items"]["items"]["properties"]["quantity"]["minimum"],
        1
    );
    for list in [
        "list_customers",
        "list_balance_transactions",
        "list_invoices",
    ] {
        let limit = &by_name(list)["properties"]["limit"];
        assert_eq!(
            (&limit["minimum"], &limit["maximum"]),
            (&1.into(), &1000.into()),
            "{list}"
        );
    }
    let search = &by_name("search_stripe_resources")["properties"]["limit"];
    assert_eq!(search["maximum"], 100);
    // The compact form: enums instead of oneOf lists, no $defs left to chase.
    let types = &by_name("list_balance_transactions")["properties"]["type"];
    assert!(types["enum"].as_array().unwrap().contains(&"payout".into()));
    for tool in tools.as_array().unwrap() {
        assert!(
            tool["inputSchema"].get("$defs").is_none(),
            "{}",
            tool["name"]
        );
    }
}

#[path = "common/rpc.rs"]
mod rpc;

#[tokio::test]
async fn tools_list_carries_a_cache_lifetime_for_2026_07_28_clients_only() {
    let spawn = || {
        let mut cmd = tokio::process::Command::new(common::bin());
        cmd.args(["--tools=get_balance"])
            .env_clear()
            .env("STRIPE_SECRET_KEY", common::TEST_KEY)
            .stderr(std::process::Stdio::null());
        rpc::Rpc::spawn(cmd).unwrap()
    };
    // A 2026-07-28 client sends no initialize: each request names its version.
    let new = spawn();
    let meta = serde_json::json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    }});
    let reply = new.request("tools/list", meta, rpc::LONG).await.unwrap();
    assert_eq!(reply["result"]["ttlMs"], 86_400_000, "{reply}");
    assert_eq!(reply["result"]["cacheScope"], "private");
    new.close(std::time::Duration::from_secs(5)).await;

    let old = spawn();
    old.initialize().await.unwrap();
    let reply = old
        .request("tools/list", serde_json::json!({}), rpc::LONG)
        .await
        .unwrap();
    assert!(reply["result"]["tools"].is_array(), "{reply}");
    assert!(reply["result"].get("ttlMs").is_none(), "{reply}");
    old.close(std::time::Duration::from_secs(5)).await;
}
