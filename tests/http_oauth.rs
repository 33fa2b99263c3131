//! `serve --http --auth oauth`: JWT access tokens from a local identity provider (a mock
//! serving OpenID metadata and a JWKS of ES256 keys these tests generate), checked for
//! signature, `iss`, `aud`, `exp`, `nbf` and scopes; RFC 9728 metadata; 401 with
//! `resource_metadata`; 403 `insufficient_scope`; a claim picks the tenant.
#![cfg(feature = "oauth")]

mod common;
mod http_common;

use std::{path::PathBuf, time::Duration};

use base64::Engine;
use http_common::{ACCEPT, Generation, call, connect, start};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const AUDIENCE: &str = "https://mcp.test/mcp";
const METADATA_URL: &str = "https://mcp.test/.well-known/oauth-protected-resource/mcp";
const KEY: &str = "rk_test_OAUTHTENANTKEY0123456789";

/// An ES256 signing key and its public JWK.
struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn new_key(kid: &str) -> SigningKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    SigningKey {
        kid: kid.to_owned(),
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
    }
}

fn now() -> i64 {
    common::now()
}

impl SigningKey {
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// The identity provider: OpenID metadata pointing at a JWKS with `keys`.
async fn idp(keys: &[&SigningKey]) -> MockServer {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")})),
        )
        .mount(&server)
        .await;
    set_jwks(&server, keys, 2).await;
    server
}

async fn set_jwks(server: &MockServer, keys: &[&SigningKey], priority: u8) {
    let set: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": set})))
        .with_priority(priority)
        .mount(server)
        .await;
}

fn claims(issuer: &str, sub: &str, scope: &str) -> Value {
    json!({"iss": issuer, "aud": AUDIENCE, "sub": sub, "scope": scope,
        "iat": now(), "exp": now() + 300})
}

fn tenants(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stripe-mcp-oauth-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        r#"[[tenant]]
name = "support"
stripe_key_env = "SUPPORT_KEY"
subjects = ["alice", "support-team"]
tools = ["get_balance", "create_refund"]
"#,
    )
    .unwrap();
    file
}

async fn stripe() -> MockServer {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .mount(&stripe)
        .await;
    stripe
}

async fn oauth_server(
    stripe: &MockServer,
    idp: &MockServer,
    extra: &[&str],
) -> http_common::Remote {
    let file = tenants("srv");
    let issuer = idp.uri();
    let mut args = vec![
        "--auth",
        "oauth",
        "--issuer",
        &issuer,
        "--audience",
        AUDIENCE,
        "--public-url",
        "https://mcp.test",
        "--tenants",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    start(&stripe.uri(), &args, &[("SUPPORT_KEY", KEY)]).await
}

async fn post_call(
    server: &http_common::Remote,
    token: Option<&str>,
    tool: &str,
) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(server.url())
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": tool, "arguments": {}}})
            .to_string(),
        );
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn a_read_token_calls_read_tools_as_the_tenant_its_subject_names() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &[]).await;
    let token = k1.sign(&claims(&idp.uri(), "alice", "openid stripe:read"));
    for generation in [Generation::Sessions20251125, Generation::Stateless20260728] {
        let client = connect(&server.url(), Some(&token), generation).await;
        let tools = client.list_all_tools().await.unwrap();
        assert_eq!(tools.len(), 2, "the tenant's own selection");
        common::ok(&call(&client, "get_balance", json!({})).await);
        client.cancel().await.unwrap();
    }
    let log = server.wait_log("tenant=support").await;
    assert!(log.contains("tool=get_balance tenant=support"), "{log}");
    assert!(!log.contains(&token), "the token leaked into the log");
}

#[tokio::test]
async fn a_write_tool_needs_the_write_scope() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &[]).await;
    let read = k1.sign(&claims(&idp.uri(), "alice", "stripe:read"));
    let r = post_call(&server, Some(&read), "create_refund").await;
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"stripe:write\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA_URL}\"")));
    // With the write scope (Okta/Entra style `scp` list), the refund goes through.
    let mut c = claims(&idp.uri(), "alice", "");
    c["scp"] = json!(["stripe:read", "stripe:write"]);
    let write = k1.sign(&c);
    let client = connect(&server.url(), Some(&write), Generation::Sessions20251125).await;
    common::ok(
        &call(
            &client,
            "create_refund",
            json!({"payment_intent": "pi_123"}),
        )
        .await,
    );
    client.cancel().await.unwrap();
    // No Stripe scope at all: refused whatever the call.
    let none = k1.sign(&claims(&idp.uri(), "alice", "openid profile"));
    let r = post_call(&server, Some(&none), "get_balance").await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn missing_expired_foreign_and_forged_tokens_get_401_naming_the_metadata() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &[]).await;
    let r = post_call(&server, None, "get_balance").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        format!("Bearer resource_metadata=\"{METADATA_URL}\"").as_str()
    );
    let issuer = idp.uri();
    let good = claims(&issuer, "alice", "stripe:read");
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let forger = new_key("k1"); // same kid, another key
    let hs256 = jsonwebtoken::encode(
        &Header {
            kid: Some("k1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &good,
        &EncodingKey::from_secret(b"guessable"),
    )
    .unwrap();
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let cases = [
        ("expired", k1.sign(&with("exp", json!(now() - 3600)))),
        ("not yet valid", k1.sign(&with("nbf", json!(now() + 3600)))),
        (
            "another audience",
            k1.sign(&with("aud", json!("https://other.example/mcp"))),
        ),
        (
            "another issuer",
            k1.sign(&with("iss", json!("https://evil.example"))),
        ),
        ("no exp", k1.sign(&no_exp)),
        ("forged signature", forger.sign(&good)),
        ("symmetric algorithm", hs256),
        ("not a JWT", "abc.def".to_owned()),
    ];
    for (what, token) in cases {
        let r = post_call(&server, Some(&token), "get_balance").await;
        assert_eq!(r.status(), 401, "{what}");
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        assert!(challenge.contains("resource_metadata="), "{what}");
    }
    // The good token still works, and nothing but it reached Stripe.
    let r = post_call(&server, Some(&k1.sign(&good)), "get_balance").await;
    assert_ne!(r.status(), 401);
}

#[tokio::test]
async fn the_protected_resource_metadata_names_the_issuer_and_scopes() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &[]).await;
    for p in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let m: Value = reqwest::get(format!("{}{p}", server.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(m["resource"], AUDIENCE);
        assert_eq!(m["authorization_servers"], json!([idp.uri()]));
        assert_eq!(
            m["scopes_supported"],
            json!(["stripe:read", "stripe:write"])
        );
    }
}

#[tokio::test]
async fn a_group_claim_picks_the_tenant_and_an_unknown_identity_is_forbidden() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &["--tenant-claim", "groups"]).await;
    let mut c = claims(&idp.uri(), "bob", "stripe:read");
    c["groups"] = json!(["everyone", "support-team"]);
    let client = connect(
        &server.url(),
        Some(&k1.sign(&c)),
        Generation::Sessions20251125,
    )
    .await;
    common::ok(&call(&client, "get_balance", json!({})).await);
    client.cancel().await.unwrap();
    c["groups"] = json!(["everyone"]);
    let r = post_call(&server, Some(&k1.sign(&c)), "get_balance").await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_when_a_token_names_it() {
    let k1 = new_key("k1");
    let k2 = new_key("k2");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &[]).await;
    // The issuer rotates to k2 after the server fetched its keys.
    set_jwks(&idp, &[&k1, &k2], 1).await;
    // Unknown kids refetch at most every 5 s (start-up counts).
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let token = k2.sign(&claims(&idp.uri(), "alice", "stripe:read"));
    let client = connect(&server.url(), Some(&token), Generation::Sessions20251125).await;
    common::ok(&call(&client, "get_balance", json!({})).await);
    client.cancel().await.unwrap();
}

/// A token whose header lists a critical extension (`crit`, RFC 7515 §4.1.11) is refused:
/// this server understands none, so it must not accept what it cannot check.
#[tokio::test]
async fn a_token_naming_an_unknown_critical_header_is_refused() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &[]).await;
    let good = claims(&idp.uri(), "alice", "stripe:read");
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "k1",
        "crit": ["urn:example:must-check"], "urn:example:must-check": true});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(good.to_string().as_bytes())
    );
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &k1.pkcs8, &rng).unwrap();
    let signature = pair.sign(&rng, input.as_bytes()).unwrap();
    let token = format!("{input}.{}", b64(signature.as_ref()));
    let r = post_call(&server, Some(&token), "get_balance").await;
    assert_eq!(r.status(), 401, "{:?}", r.headers());
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("crit"),
    );
    // The same claims without crit are served.
    let r = post_call(&server, Some(&k1.sign(&good)), "get_balance").await;
    assert_ne!(r.status(), 401);
}

/// A key the issuer withdraws from its JWKS stops working within `--jwks-refresh`, even
/// though every token still names a known `kid`.
#[tokio::test]
async fn a_key_withdrawn_from_the_jwks_stops_working_within_the_refresh() {
    let k1 = new_key("k1");
    let k2 = new_key("k2");
    let idp = idp(&[&k1, &k2]).await;
    let stripe = stripe().await;
    let server = oauth_server(&stripe, &idp, &["--jwks-refresh", "1"]).await;
    let token = k1.sign(&claims(&idp.uri(), "alice", "stripe:read"));
    let r = post_call(&server, Some(&token), "get_balance").await;
    assert_ne!(r.status(), 401);
    // The issuer withdraws k1 (compromised), keeping k2.
    set_jwks(&idp, &[&k2], 1).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = post_call(&server, Some(&token), "get_balance").await;
    assert_eq!(r.status(), 401, "a withdrawn key must stop working");
    let r = post_call(
        &server,
        Some(&k2.sign(&claims(&idp.uri(), "alice", "stripe:read"))),
        "get_balance",
    )
    .await;
    assert_ne!(r.status(), 401, "the remaining key still works");
}

#[tokio::test]
async fn without_a_tenants_file_every_valid_token_acts_on_the_servers_own_key() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let issuer = idp.uri();
    let server = start(
        &stripe.uri(),
        &[
            "--auth",
            "oauth",
            "--issuer",
            &issuer,
            "--audience",
            AUDIENCE,
        ],
        &[("STRIPE_SECRET_KEY", KEY)],
    )
    .await;
    for sub in ["alice", "bob"] {
        let token = k1.sign(&claims(&issuer, sub, "stripe:read"));
        let client = connect(&server.url(), Some(&token), Generation::Sessions20251125).await;
        common::ok(&call(&client, "get_balance", json!({})).await);
        client.cancel().await.unwrap();
    }
    // A token for another audience still gets nothing.
    let foreign = k1.sign(
        &json!({"iss": issuer, "aud": "https://other.test/mcp", "sub": "eve",
        "scope": "stripe:read", "iat": now(), "exp": now() + 300}),
    );
    assert_eq!(
        post_call(&server, Some(&foreign), "get_balance")
            .await
            .status(),
        401
    );
    let log = server.wait_log("tool=get_balance tenant=oauth").await;
    assert!(log.contains("tool=get_balance tenant=oauth"), "{log}");
}

/// The audit row of a write names the OAuth subject that made it, not only the tenant.
#[tokio::test]
async fn an_audit_row_names_the_oauth_subject_that_wrote() {
    let k1 = new_key("k1");
    let idp = idp(&[&k1]).await;
    let stripe = stripe().await;
    let issuer = idp.uri();
    let db = common::temp_db("oauth-audit-subject");
    let db_arg = db.to_str().unwrap().to_owned();
    let server = start(
        &stripe.uri(),
        &[
            "--auth",
            "oauth",
            "--issuer",
            &issuer,
            "--audience",
            AUDIENCE,
            "--db",
            &db_arg,
            "--confirm",
            "never",
        ],
        &[("STRIPE_SECRET_KEY", KEY)],
    )
    .await;
    let token = k1.sign(&claims(&issuer, "alice", "stripe:read stripe:write"));
    let client = connect(&server.url(), Some(&token), Generation::Sessions20251125).await;
    common::ok(
        &call(
            &client,
            "create_refund",
            json!({"charge": "ch_1", "amount": 100}),
        )
        .await,
    );
    client.cancel().await.unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["audit", "--db", &db_arg, "--json"])
        .env_remove("STRIPE_SECRET_KEY")
        .output()
        .unwrap();
    let rows = String::from_utf8_lossy(&out.stdout);
    assert!(
        rows.lines()
            .any(|l| l.contains("\"sub:alice\"") && l.contains("/v1/refunds")),
        "no audit row names the subject: {rows}"
    );
}
