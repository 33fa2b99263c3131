//! Tidy tests: the architecture and the documentation stay true without anyone
//! remembering them (in the manner of rust-analyzer's `xtask/src/tidy.rs`).
//!
//! - the layer order that `ARCHITECTURE.md` states holds for every `crate::` path in `src/`
//!   (an import pointing up fails, naming the file and line; there are no exceptions);
//! - every tool the server offers has a row in `docs/tools.md`;
//! - every flag and environment variable in `--help` appears in `docs/configuration.md`;
//! - every relative link in the Markdown files resolves (file and `#anchor`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The layers of `src/`, bottom first: a module may use modules of its own layer or below.
/// Keep in step with ARCHITECTURE.md's "Layers" (the test below checks that it lists them).
const LAYERS: &[&[&str]] = &[
    &["stripe"],
    &["store"],
    &["config", "tenants", "policy"],
    &["guard", "egress", "error"],
    &["tools"],
    &["server", "check", "webhooks"],
    &["auth"],
    &["transport"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib" && name != "main").then_some(name)
}

/// The first segments of every `crate::` path in a file, with the line each starts on
/// (groups `crate::{a, b::{c, d}}` included, across lines). Comments are skipped.
fn crate_targets(text: &str) -> Vec<(usize, String)> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let line_at = |pos: usize| code[..pos].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        let after = at + "crate::".len();
        from = after;
        if code[after..].starts_with('{') {
            // Top-level items of the group: split on commas at depth 1.
            let mut depth = 0;
            let mut item_start = after + 1;
            for (j, c) in code[after..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' | ',' if depth == 1 => {
                        let seg = ident(&code[item_start..after + j]);
                        if !seg.is_empty() {
                            out.push((line_at(item_start), seg));
                        }
                        item_start = after + j + 1;
                        if c == '}' {
                            break;
                        }
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
        } else {
            let seg = ident(&code[after..]);
            if !seg.is_empty() {
                out.push((line_at(at), seg));
            }
        }
    }
    out
}

#[test]
fn imports_point_down_the_layers() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    files.sort();
    let mut failures = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        let Some(from_layer) = layer_of(&from) else {
            unknown.insert(from.clone());
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        {
            for (n, to) in crate_targets(&text) {
                let line = lines.get(n - 1).copied().unwrap_or("");
                if to == from {
                    continue;
                }
                // Re-exports at the crate root (`crate::StripeMcp`) belong to the tool set.
                let to = if to == "StripeMcp" {
                    "tools".to_owned()
                } else {
                    to
                };
                let Some(to_layer) = layer_of(&to) else {
                    if to.chars().next().is_some_and(|c| c.is_lowercase()) {
                        unknown.insert(to.clone());
                    }
                    continue;
                };
                if to_layer <= from_layer {
                    continue;
                }
                failures.push(format!(
                    "{}:{}: `{from}` (layer {from_layer}) uses `crate::{to}` (layer {to_layer}), \
                     which stands above it: {}",
                    file.strip_prefix(ROOT).unwrap().display(),
                    n,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules not placed in a layer (add them to LAYERS and ARCHITECTURE.md): {unknown:?}"
    );
    assert!(
        failures.is_empty(),
        "imports pointing up the layers (see ARCHITECTURE.md):\n{}",
        failures.join("\n")
    );
}

#[test]
fn architecture_md_states_the_layers_this_test_checks() {
    let arch = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
    for layer in LAYERS {
        for module in *layer {
            assert!(
                arch.contains(&format!("`{module}`")),
                "ARCHITECTURE.md does not name the module `{module}`"
            );
        }
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stripe-mcp"))
        .args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "stripe-mcp {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_offered_tool_has_a_row_in_docs_tools_md() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/tools.md")).unwrap();
    let listing = run(&["tools", "--tools=all,stripe_api_write"]);
    let mut names: BTreeSet<String> = listing
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_owned)
        .collect();
    // The golden tools/list (checked against the live server by tests/tools_list.rs).
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("tests/golden/tools_list.json")).unwrap(),
    )
    .unwrap();
    for tool in golden.as_array().into_iter().flatten() {
        if let Some(name) = tool["name"].as_str() {
            names.insert(name.to_owned());
        }
    }
    assert!(names.len() > 40, "too few tools found: {names:?}");
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !doc.contains(&format!("| `{n}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "tools with no row (`| `name` | ...`) in docs/tools.md: {missing:?}"
    );
}

#[test]
fn every_flag_and_environment_variable_is_in_docs_configuration_md() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/configuration.md")).unwrap();
    let helps: &[&[&str]] = &[
        &["--help"],
        &["serve", "--help"],
        &["webhooks", "--help"],
        &["tenants", "add", "--help"],
        &["db", "status", "--help"],
        &["db", "migrate", "--help"],
        &["audit", "--help"],
        &["tools", "--help"],
        &["check", "--help"],
    ];
    let mut flags = BTreeSet::new();
    let mut envs = BTreeSet::new();
    for args in helps {
        let help = run(args);
        for line in help.lines() {
            let t = line.trim_start();
            let t = t.strip_prefix("-").map(|_| t).unwrap_or("");
            for word in t.split([' ', ',', '=', '<', '[']) {
                if let Some(flag) = word.strip_prefix("--")
                    && !flag.is_empty()
                    && flag != "help"
                    && flag != "version"
                {
                    flags.insert(format!("--{flag}"));
                }
            }
            if let Some(i) = line.find("[env: ") {
                let var: String = line[i + 6..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                envs.insert(var);
            }
        }
    }
    assert!(flags.len() > 20, "too few flags found: {flags:?}");
    let missing: Vec<_> = flags
        .iter()
        .chain(envs.iter())
        .filter(|f| !doc.contains(&format!("`{f}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "flags or environment variables in --help but not in docs/configuration.md: {missing:?}"
    );
}

fn markdown_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && !["target", "node_modules"].contains(&name.as_str()) {
                    walk(&path, out);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    walk(Path::new(ROOT), &mut out);
    out.sort();
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            let base = slug(h.trim_start_matches('#'));
            let n = seen.entry(base.clone()).or_insert(0);
            out.insert(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
    }
    out
}

/// `](target)` links outside code fences and inline code.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (n, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        // Drop inline code spans.
        let mut text = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                text.push_str(part);
            }
        }
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').unwrap_or(after.len());
            out.push((n + 1, after[..end].trim().to_owned()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let mut broken = Vec::new();
    let files = markdown_files();
    assert!(files.iter().any(|f| f.ends_with("README.md")));
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let shown = format!(
                "{}:{line}: {target}",
                file.strip_prefix(ROOT).unwrap().display()
            );
            if !dest.exists() {
                broken.push(format!("{shown} (no such file)"));
                continue;
            }
            if let Some(anchor) = anchor
                && dest.extension().is_some_and(|e| e == "md")
            {
                let heads = anchors(&std::fs::read_to_string(&dest).unwrap());
                if !heads.contains(anchor) {
                    broken.push(format!("{shown} (no heading with anchor #{anchor})"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_stays_short() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; keep it ≤ 300 and move detail to docs/"
    );
}
