//! The command line: .env handling, --version, and a clean exit on SIGTERM.

mod common;

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn temp_dir_with_env_file(contents: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("stripe-mcp-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), contents).unwrap();
    dir
}

#[test]
fn a_dotenv_file_in_the_working_directory_is_read() {
    let dir = temp_dir_with_env_file("STRIPE_SECRET_KEY=pk_test_fromdotenv\n");
    let out = Command::new(common::bin())
        .env_clear()
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("publishable"), "the .env key was used: {err}");
}

#[test]
fn the_real_environment_wins_over_the_dotenv_file() {
    let dir = temp_dir_with_env_file("STRIPE_SECRET_KEY=pk_test_fromdotenv\n");
    let out = Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .arg("--tools=no_such_tool")
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("publishable"), "{err}");
    assert!(
        err.contains("no_such_tool"),
        "the key passed and the next check ran: {err}"
    );
}

#[test]
fn version_prints_the_crate_version() {
    let out = Command::new(common::bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("stripe-mcp {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn sigterm_ends_the_server_promptly_and_cleanly() {
    let mut child = Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .current_dir(std::env::temp_dir())
        .spawn()
        .unwrap();
    // Wait until it is serving (it logs once ready), then ask it to stop.
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&seen).contains("serving MCP") {
        let n = stderr.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "server exited early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let started = Instant::now();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // stdin is still open: the exit came from the signal, not from EOF.
    drop(child.stdin.take());
}

#[test]
fn sigterm_during_a_session_ends_it_cleanly() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir(std::env::temp_dir())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("\"serverInfo\""), "{line}");
    let started = Instant::now();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
}

/// Node-based clients (Claude Desktop, Cursor) give the server sockets, not pipes,
/// and there rmcp reads stdin with a blocking read that a signal does not end.
#[test]
fn sigterm_ends_the_server_even_when_stdio_are_sockets_not_pipes() {
    use std::{
        io::{BufRead, BufReader, Write},
        os::unix::net::UnixStream,
    };
    let (ours, theirs) = UnixStream::pair().unwrap();
    let mut child = Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(
            theirs.try_clone().unwrap(),
        )))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(Stdio::null())
        .current_dir(std::env::temp_dir())
        .spawn()
        .unwrap();
    let mut writer = ours.try_clone().unwrap();
    writeln!(
        writer,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(ours.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("\"serverInfo\""), "{line}");
    let started = Instant::now();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("still running 5 s after SIGTERM with socket stdio");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The client still holds its end open: the exit came from the signal.
    drop(writer);
    drop(ours);
}
