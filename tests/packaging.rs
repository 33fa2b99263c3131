//! The release packaging agrees with the server and with itself: the extension
//! manifest lists every tool the server can offer, every version is Cargo.toml's,
//! and npm/platforms.json, the launcher, scripts/package, the release workflow,
//! cargo-binstall and server.json name the same targets, packages and paths.
//! (No Node needed: the install itself is tested by `scripts/test-package`.)
//! Regenerate the manifest's `tools` with `UPDATE_MANIFEST=1 cargo test --test packaging`.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

const LAUNCHER: &str = "stripe-mcp-rs";

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json_file(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn cargo_version() -> String {
    read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml")
        .to_owned()
}

/// `npm/platforms.json`: (npm platform, rust target, exe, archive format, runner).
fn platforms() -> Vec<(String, String, String, String, String)> {
    json_file("npm/platforms.json")["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .map(|p| {
            let s = |k: &str| {
                p[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {p}"))
                    .to_owned()
            };
            (
                s("npm"),
                s("rust_target"),
                s("exe"),
                s("archive"),
                s("runner"),
            )
        })
        .collect()
}

/// Every tool the server can offer: all of them, the generic write and the ledger tools included.
async fn every_tool() -> Vec<Value> {
    let stripe = common::mock_stripe().await;
    let db = common::temp_db("packaging");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let server = common::Spawn::new(&stripe.uri())
        .arg("--tools=all,stripe_api_write")
        .arg("--db")
        .arg(db.to_string_lossy())
        .start()
        .await;
    let tools = server.client.list_all_tools().await.unwrap();
    server.stop().await;
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
    tools
        .into_iter()
        .map(|t| json!({"name": t.name, "description": t.description.unwrap_or_default()}))
        .collect()
}

/// The manifest with its `"tools": [...]` replaced, the rest of the file as it is.
fn with_tools(manifest: &str, tools: &[Value]) -> String {
    // `"tools": [` at two spaces, up to its `]` (at two spaces, or on the same line when empty).
    let start = manifest
        .find("\n  \"tools\": [")
        .expect("a top-level \"tools\" array")
        + 3;
    let rest = &manifest[start..];
    let end = start
        + if rest.starts_with("\"tools\": []") {
            "\"tools\": []".len()
        } else {
            rest.find("\n  ]").expect("the end of \"tools\"") + 4
        };
    let items: Vec<String> = tools
        .iter()
        .map(|t| {
            format!(
                "    {{\"name\": {}, \"description\": {}}}",
                t["name"], t["description"]
            )
        })
        .collect();
    format!(
        "{}\"tools\": [\n{}\n  ]{}",
        &manifest[..start],
        items.join(",\n"),
        &manifest[end..]
    )
}

#[tokio::test]
async fn the_extension_manifest_lists_every_tool_the_server_offers_with_its_description() {
    let tools = every_tool().await;
    assert!(tools.len() >= 45, "only {} tools listed", tools.len());
    let text = read("packaging/manifest.json");
    if std::env::var_os("UPDATE_MANIFEST").is_some() {
        std::fs::write(path("packaging/manifest.json"), with_tools(&text, &tools)).unwrap();
        eprintln!("wrote the tools of packaging/manifest.json");
        return;
    }
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let listed = manifest["tools"].as_array().expect("manifest tools");
    for tool in &tools {
        assert!(
            listed.contains(tool),
            "packaging/manifest.json does not list {} as the server does ({}); \
             regenerate with UPDATE_MANIFEST=1 cargo test --test packaging",
            tool["name"],
            tool["description"]
        );
    }
    assert_eq!(
        listed.len(),
        tools.len(),
        "packaging/manifest.json lists tools the server does not offer; regenerate with UPDATE_MANIFEST=1"
    );
}

#[test]
fn every_version_is_the_crates() {
    let v = cargo_version();
    let launcher = json_file("npm/stripe-mcp-rs/package.json");
    assert_eq!(
        launcher["version"],
        v.as_str(),
        "npm/stripe-mcp-rs/package.json"
    );
    for (name, range) in launcher["optionalDependencies"].as_object().unwrap() {
        assert_eq!(
            range,
            v.as_str(),
            "the launcher pins {name} to its own version"
        );
    }
    assert_eq!(
        json_file("packaging/manifest.json")["version"],
        v.as_str(),
        "manifest.json"
    );
    let server = json_file("packaging/server.json");
    assert_eq!(server["version"], v.as_str(), "server.json");
    for p in server["packages"].as_array().unwrap() {
        assert_eq!(
            p["version"],
            v.as_str(),
            "server.json package {}",
            p["identifier"]
        );
    }
}

#[test]
fn the_launcher_knows_exactly_the_platforms_that_are_built() {
    let launcher = json_file("npm/stripe-mcp-rs/package.json");
    let script = read("npm/stripe-mcp-rs/bin/stripe-mcp-rs.js");
    let mut optional: Vec<&String> = launcher["optionalDependencies"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    optional.sort();
    let mut want: Vec<String> = platforms()
        .iter()
        .map(|(npm, ..)| format!("{LAUNCHER}-{npm}"))
        .collect();
    want.sort();
    assert_eq!(
        optional,
        want.iter().collect::<Vec<_>>(),
        "optionalDependencies"
    );
    for (npm, _, exe, ..) in platforms() {
        assert!(
            script.contains(&format!("'{npm}': '{LAUNCHER}-{npm}',")),
            "the launcher's PACKAGES has no entry {npm} -> {LAUNCHER}-{npm}"
        );
        // The launcher looks for bin/stripe-mcp(.exe) in the platform package.
        assert!(
            exe == "stripe-mcp" || exe == "stripe-mcp.exe",
            "{npm}: {exe}"
        );
    }
    assert_eq!(
        script.matches(&format!(": '{LAUNCHER}-")).count(),
        platforms().len(),
        "the launcher maps a platform that npm/platforms.json does not build"
    );
    assert!(script.contains(
        "path.join(dir, 'bin', process.platform === 'win32' ? 'stripe-mcp.exe' : 'stripe-mcp')"
    ));
    assert_eq!(launcher["bin"][LAUNCHER], "bin/stripe-mcp-rs.js");
}

#[test]
fn the_release_workflow_builds_the_same_targets_as_scripts_package_with_the_same_paths() {
    let workflow = read(".github/workflows/release.yml");
    let package = read("scripts/package");
    let matrix: Vec<&str> = workflow
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("- { npm: "))
        .collect();
    let want: Vec<String> = platforms()
        .iter()
        .map(|(npm, target, exe, archive, runner)| {
            format!("- {{ npm: {npm}, target: {target}, runner: {runner}, exe: {exe}, archive: {archive} }}")
        })
        .collect();
    assert_eq!(
        matrix, want,
        "the matrix of release.yml is not npm/platforms.json"
    );
    // Each job builds its target and hands that binary to scripts/package, which
    // names everything from npm/platforms.json.
    for needle in [
        "cargo build --release --locked --target ${{ matrix.target }}",
        "bash scripts/package --platform ${{ matrix.npm }} --binary target/${{ matrix.target }}/release/${{ matrix.exe }}",
    ] {
        assert!(
            workflow.contains(needle),
            "release.yml does not run: {needle}"
        );
    }
    for needle in [
        "npm/platforms.json",
        "pkg=$LAUNCHER-$platform",
        "cp \"$binary\" \"$pkg_dir/bin/$exe\"",
        "bundle=$DIST/stripe-mcp-$platform.mcpb",
        "stem=stripe-mcp-$version-$rust_target",
        "LAUNCHER=stripe-mcp-rs",
    ] {
        assert!(
            package.contains(needle),
            "scripts/package no longer has: {needle}"
        );
    }
    // What the jobs upload is what scripts/package writes.
    for needle in [
        "target/dist/stripe-mcp-rs-${{ matrix.npm }}-",
        "target/dist/stripe-mcp-${{ matrix.npm }}.mcpb",
        "target/dist/stripe-mcp-*-${{ matrix.target }}.${{ matrix.archive }}",
    ] {
        assert!(
            workflow.contains(needle),
            "release.yml does not upload {needle}"
        );
    }
}

#[test]
fn cargo_binstall_finds_the_release_archives() {
    let cargo = read("Cargo.toml");
    let section = cargo
        .split("[package.metadata.binstall]")
        .nth(1)
        .expect("[package.metadata.binstall] in Cargo.toml");
    // scripts/package: stripe-mcp-<version>-<target>.<archive>, holding stripe-mcp-<version>-<target>/<exe>.
    let url = |ext: &str| {
        format!(
            "pkg-url = \"{{ repo }}/releases/download/v{{ version }}/{{ name }}-{{ version }}-{{ target }}.{ext}\""
        )
    };
    assert!(section.contains(&url("tar.gz")), "{section}");
    assert!(
        section.contains(r#"bin-dir = "{ name }-{ version }-{ target }/{ bin }{ binary-ext }""#)
    );
    assert!(section.contains(r#"pkg-fmt = "tgz""#));
    for (_, target, _, archive, _) in platforms() {
        if archive == "zip" {
            let want = format!(
                "[package.metadata.binstall.overrides.{target}]\n{}\npkg-fmt = \"zip\"",
                url("zip")
            );
            assert!(
                cargo.contains(&want),
                "{target} is a zip: binstall needs\n{want}"
            );
        } else {
            assert_eq!(archive, "tar.gz", "{target}");
        }
    }
}

#[test]
fn the_registry_entry_describes_the_npm_package_and_the_bundle_with_the_key_secret() {
    let server = json_file("packaging/server.json");
    let launcher = json_file("npm/stripe-mcp-rs/package.json");
    assert_eq!(
        server["name"], launcher["mcpName"],
        "npm ownership check: mcpName"
    );
    let packages = server["packages"].as_array().unwrap();
    let npm = packages
        .iter()
        .find(|p| p["registryType"] == "npm")
        .expect("an npm package");
    assert_eq!(npm["identifier"], LAUNCHER);
    let mcpb = packages
        .iter()
        .find(|p| p["registryType"] == "mcpb")
        .expect("an mcpb package");
    assert!(
        mcpb["identifier"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v{}/stripe-mcp-linux-x64.mcpb", cargo_version())),
        "{}",
        mcpb["identifier"]
    );
    for p in packages {
        assert_eq!(p["transport"]["type"], "stdio");
        let key = p["environmentVariables"]
            .as_array()
            .and_then(|v| v.iter().find(|e| e["name"] == "STRIPE_SECRET_KEY"))
            .unwrap_or_else(|| panic!("{}: no STRIPE_SECRET_KEY", p["identifier"]));
        assert_eq!(key["isSecret"], true);
        assert_eq!(key["isRequired"], true);
    }
    // One repository everywhere, so moving it is one search-and-replace.
    let repo = server["repository"]["url"].as_str().unwrap();
    assert!(read("Cargo.toml").contains(&format!("repository = \"{repo}\"")));
    assert_eq!(
        json_file("packaging/manifest.json")["repository"]["url"],
        repo
    );
    assert_eq!(launcher["repository"]["url"], format!("git+{repo}.git"));
}

#[test]
fn the_manifest_keeps_the_key_secret_and_maps_every_setting() {
    let m = json_file("packaging/manifest.json");
    assert_eq!(m["manifest_version"], "0.3");
    assert_eq!(m["server"]["type"], "binary");
    let key = &m["user_config"]["stripe_secret_key"];
    assert_eq!(
        (&key["sensitive"], &key["required"]),
        (&json!(true), &json!(true))
    );
    let config = serde_json::to_string(&m["server"]["mcp_config"]).unwrap();
    for setting in m["user_config"].as_object().unwrap().keys() {
        assert!(
            config.contains(&format!("${{user_config.{setting}}}")),
            "user_config.{setting} is never passed to the server"
        );
    }
    // The key goes through the environment, never the command line (visible in `ps`).
    assert!(
        !serde_json::to_string(&m["server"]["mcp_config"]["args"])
            .unwrap()
            .contains("stripe_secret_key")
    );
    assert!(!m["privacy_policies"].as_array().unwrap().is_empty());
}
