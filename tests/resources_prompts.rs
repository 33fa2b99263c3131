//! MCP resources and prompts through rmcp's client and the real binary, against the
//! mock Stripe: what is listed, what a read sends and returns, and refusals.

mod common;
mod http_common;

use common::{Spawn, fixture};
use rmcp::model::{
    ContentBlock, GetPromptRequestParams, ReadResourceRequestParams, ResourceContents,
};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

fn json_of(contents: &[ResourceContents]) -> (Value, String) {
    let ResourceContents::TextResourceContents {
        text, mime_type, ..
    } = &contents[0]
    else {
        panic!("not text")
    };
    (
        serde_json::from_str(text).unwrap(),
        mime_type.clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_account_balance_and_object_template_are_listed() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let uris: Vec<String> = server
        .client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(uris, ["stripe://account", "stripe://balance"]);
    let templates = server.client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].uri_template, "stripe://objects/{id}");
    server.stop().await;
}

#[tokio::test]
async fn reading_the_balance_and_an_object_calls_stripe_once_each() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("balance.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let customer = fixture("customer.json");
    let id = customer["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer.clone()))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let read = |uri: String| {
        let client = &server.client;
        async move {
            client
                .read_resource(ReadResourceRequestParams::new(uri))
                .await
        }
    };
    let balance = read("stripe://balance".into()).await.unwrap();
    let (value, mime) = json_of(&balance.contents);
    assert_eq!(mime, "application/json");
    assert!(value["available"][0]["display"].is_string(), "{value}");
    let object = read(format!("stripe://objects/{id}")).await.unwrap();
    let mut got = json_of(&object.contents).0;
    // The object as Stripe sent it, with the RFC 3339 twin its tool adds beside `created`.
    assert_eq!(
        got.as_object_mut().unwrap().remove("created_utc"),
        Some(serde_json::json!("2023-11-14T22:13:20Z"))
    );
    assert_eq!(got, customer);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_resource_uri_is_an_error_and_nothing_is_sent() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    for uri in [
        "stripe://nothing",
        "stripe://objects/not-an-id",
        "stripe://objects/cus_1/../../v1/balance",
    ] {
        let e = server
            .client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap_err();
        assert!(!e.to_string().is_empty(), "{uri}");
    }
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_object_is_resource_not_found_with_the_structured_error() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers/cus_gone"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(fixture("error_resource_missing.json")),
        )
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = server
        .client
        .read_resource(ReadResourceRequestParams::new("stripe://objects/cus_gone"))
        .await
        .unwrap_err();
    let text = format!("{e:?}");
    assert!(text.contains("not_found"), "{text}");
    assert!(!text.contains(common::TEST_KEY));
    server.stop().await;
}

#[tokio::test]
async fn the_four_workflow_prompts_are_listed_and_fill_in_their_arguments() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let mut names: Vec<String> = server
        .client
        .list_all_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "chase_overdue_invoices",
            "month_end_summary",
            "refund_last_payment",
            "sell_by_checkout_link"
        ]
    );
    let args = json!({"customer_email": "jane@example.com", "reason": "duplicate"});
    let got = server
        .client
        .get_prompt(
            GetPromptRequestParams::new("refund_last_payment")
                .with_arguments(args.as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    let ContentBlock::Text(t) = &got.messages[0].content else {
        panic!("not text")
    };
    assert!(
        t.text
            .contains("list_customers with email jane@example.com"),
        "{}",
        t.text
    );
    assert!(t.text.contains("confirm"), "{}", t.text);
    assert!(t.text.contains("reason \"duplicate\""), "{}", t.text);
    let missing = server
        .client
        .get_prompt(GetPromptRequestParams::new("sell_by_checkout_link"))
        .await;
    assert!(missing.is_err());
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_remote_caller_reads_resources_and_prompts_on_its_own_tenant() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {}", common::TEST_KEY).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("balance.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[]).await;
    let client = http_common::connect(
        &server.url(),
        Some(common::TEST_KEY),
        http_common::Generation::Sessions20251125,
    )
    .await;
    assert_eq!(client.list_all_resources().await.unwrap().len(), 2);
    assert_eq!(client.list_all_prompts().await.unwrap().len(), 4);
    let balance = client
        .read_resource(ReadResourceRequestParams::new("stripe://balance"))
        .await
        .unwrap();
    assert!(json_of(&balance.contents).0["available"].is_array());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_tool_result_naming_one_object_carries_a_resource_link_to_it() {
    let stripe = common::mock_stripe().await;
    let customer = fixture("customer.json");
    let id = customer["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let result = server.call("get_customer", json!({"customer": id})).await;
    let links: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::ResourceLink(r) => Some(r.uri.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(links, [format!("stripe://objects/{id}")]);
    server.stop().await;
}

async fn resource_uris(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
) -> Vec<String> {
    client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri.clone())
        .collect()
}

async fn prompt_names<S: rmcp::service::Service<rmcp::RoleClient>>(
    client: &rmcp::service::RunningService<rmcp::RoleClient, S>,
) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_all_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn resources_and_prompts_are_offered_only_where_a_tool_reading_the_same_object_is() {
    // No mocks: a resource the tool list does not allow must not reach Stripe.
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=get_balance")
        .start()
        .await;
    assert_eq!(resource_uris(&server.client).await, ["stripe://balance"]);
    assert!(
        server
            .client
            .list_all_resource_templates()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(prompt_names(&server.client).await.is_empty());
    for uri in ["stripe://objects/cus_Oaxlz8kB0PJWGa", "stripe://account"] {
        let e = server
            .client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("no resource"), "{uri}: {e:?}");
    }
    let e = server
        .client
        .get_prompt(
            GetPromptRequestParams::new("refund_last_payment").with_arguments(
                json!({"customer_email": "jane@example.com"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await;
    assert!(e.is_err(), "{e:?}");
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());

    // A typed reader of one kind serves that kind only.
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=get_customer")
        .start()
        .await;
    assert!(resource_uris(&server.client).await.is_empty());
    let e = server
        .client
        .read_resource(ReadResourceRequestParams::new(
            "stripe://objects/ch_3PaymentsFixture",
        ))
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("no resource"), "{e:?}");
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());

    // Read-only: the prompts that tell the model to refund or sell are gone.
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).arg("--read-only").start().await;
    assert_eq!(
        prompt_names(&server.client).await,
        ["chase_overdue_invoices", "month_end_summary"]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_tenant_allowed_only_get_balance_reads_no_customer_as_a_resource() {
    use sha2::{Digest, Sha256};
    let token = "smcp_balance_only_token_for_tests_0000000000000000000000000000000";
    let dir = std::env::temp_dir().join(format!("stripe-mcp-res-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            "[[tenant]]\nname = \"balance-only\"\ntoken_sha256 = \"{}\"\nstripe_key_env = \"SHARED_KEY\"\ntools = [\"get_balance\"]\n",
            hex::encode(Sha256::digest(token.as_bytes()))
        ),
    )
    .unwrap();
    let stripe = common::mock_stripe().await;
    let server = http_common::start(
        &stripe.uri(),
        &["--auth", "tokens", "--tenants", file.to_str().unwrap()],
        &[("SHARED_KEY", common::TEST_KEY)],
    )
    .await;
    let client = http_common::connect(
        &server.url(),
        Some(token),
        http_common::Generation::Sessions20251125,
    )
    .await;
    let uris: Vec<String> = client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(uris, ["stripe://balance"]);
    assert!(
        client
            .list_all_resource_templates()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(prompt_names(&client).await.is_empty());
    let e = client
        .read_resource(ReadResourceRequestParams::new(
            "stripe://objects/cus_Oaxlz8kB0PJWGa",
        ))
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("no resource"), "{e:?}");
    client.cancel().await.unwrap();
    assert!(stripe.received_requests().await.unwrap().is_empty());
}
