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
async fn the_readme_tool_table_lists_every_tool() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let tools = listed_tools().await;
    for tool in tools.as_array().unwrap() {
        let row = format!("| `{}` |", tool["name"].as_str().unwrap());
        assert!(
            readme.contains(&row),
            "README's tool table has no row for {row}"
        );
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
