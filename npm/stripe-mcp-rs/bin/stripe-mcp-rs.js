#!/usr/bin/env node
// The npm launcher of stripe-mcp: finds the prebuilt binary of this platform in
// its optional dependency (one package per platform, as esbuild and biome do) and
// runs it with the arguments unchanged and stdio inherited. stdout is the MCP
// protocol, so this file never writes to it: every message goes to stderr.
// Kept to one file and built-in modules only: Node's own start-up is most of
// what a launcher costs, and nothing here should add to it.
'use strict';

const { spawn } = require('child_process');
const path = require('path');

// `${process.platform}-${process.arch}` -> the package that carries its binary.
// Must match ../../platforms.json and the optionalDependencies (tests/packaging.rs).
const PACKAGES = {
  'linux-x64': 'stripe-mcp-rs-linux-x64',
  'linux-arm64': 'stripe-mcp-rs-linux-arm64',
  'darwin-arm64': 'stripe-mcp-rs-darwin-arm64',
  'darwin-x64': 'stripe-mcp-rs-darwin-x64',
  'win32-x64': 'stripe-mcp-rs-win32-x64',
};
const FROM_SOURCE =
  'build it from source instead (needs Rust, https://rustup.rs): ' +
  'cargo install --locked --git https://github.com/stripe-mcp-rs/stripe-mcp, then run stripe-mcp';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function fail(message) {
  process.stderr.write(`stripe-mcp-rs: ${message}\n`);
  process.exit(1);
}

function binaryPath() {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[platform];
  if (!pkg) {
    fail(
      `no prebuilt binary for ${platform} (there are: ${Object.keys(PACKAGES).join(', ')}); ${FROM_SOURCE}`
    );
  }
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    fail(
      `${pkg}, the binary for ${platform}, is not installed: npm skips optional dependencies ` +
        `with --omit=optional (or a lockfile made on another platform); reinstall without it, or ${FROM_SOURCE}`
    );
  }
  return path.join(dir, 'bin', process.platform === 'win32' ? 'stripe-mcp.exe' : 'stripe-mcp');
}

const binary = binaryPath();
const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit', windowsHide: true });

// A client stops a server with a signal to the process it started, which is this
// one: pass it on and let the server shut down by itself.
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of SIGNALS) process.on(signal, forward);

child.on('error', (err) => fail(`could not start ${binary}: ${err.message}`));
child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so whoever waits on us sees what the server saw.
    for (const s of SIGNALS) process.removeListener(s, forward);
    process.kill(process.pid, signal);
    // Not every signal ends a process (on Windows none do): fall back to 128 + n.
    setTimeout(() => process.exit(128 + (require('os').constants.signals[signal] || 0)), 100);
    return;
  }
  process.exit(code === null ? 1 : code);
});
