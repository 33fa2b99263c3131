//! Issue 18: only the guard makes an approved request, and the client has no other
//! write path. (The compiler enforces the second: `Client::post`/`delete` are private;
//! this test pins the first, since `Approved::by_guard` is crate-visible.)

use std::path::{Path, PathBuf};

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

#[test]
fn only_the_guard_approves_a_write_and_the_client_has_no_other_write_path() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("Approved::by_guard(") {
            assert_eq!(rel, "guard/gate.rs", "{rel} approves a write itself");
        }
        if rel != "stripe/planned.rs" {
            assert!(
                !text.contains("unguarded_for_tests"),
                "{rel} sends a write around the guard"
            );
        }
        if rel == "stripe/client.rs" {
            for public in [
                "pub async fn post",
                "pub async fn delete",
                "pub(crate) async fn post",
                "pub(crate) async fn delete",
            ] {
                assert!(
                    !text.contains(public),
                    "the client has a second write path: {public}"
                );
            }
        }
    }
}
