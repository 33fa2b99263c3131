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

#[tokio::test]
async fn the_tools_flag_registers_only_the_named_tools() {
    let stripe = common::mock_stripe().await;
    let server = common::Spawn::new(&stripe.uri())
        .arg("--tools=get_balance,list_customers")
        .start()
        .await;
    let mut names: Vec<String> = server
        .client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["get_balance", "list_customers"]);
    server.stop().await;
}
