// The install test of the npm packages and the .mcpb bundle that scripts/package
// writes into target/dist/. Run by scripts/test-package (part of scripts/test):
//
//   node npm/test/install.mjs --dist target/dist --binary target/release/stripe-mcp
//        [--official-js target/bench-node/node_modules/@stripe/mcp/dist/index.js]
//        [--official-dir target/bench-node] [--mcpb target/node-tools/node_modules/.bin/mcpb] [--runs 20]
//
// It installs the launcher and platform tarballs into a temporary prefix with
// `npm install --offline` (an empty npm cache: nothing may come from the network),
// drives the launcher over stdio against a mock Stripe (initialize, tools/list, a
// tool call), checks signals, exit codes, the unsupported-platform message and that
// nothing but JSON-RPC reached stdout, then unpacks the bundle and launches it exactly
// as its manifest's mcp_config says. Last, it measures start-up (spawn → tools/list
// reply, median of --runs) of the bare binary, the launcher, npx, and @stripe/mcp.
// Any failed check exits 1.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KEY = 'sk_test_install0123456789';
const PROTOCOL = '2025-06-18';
const LAUNCHER = 'stripe-mcp-rs';

const opts = { runs: '20' };
for (let i = 2; i < process.argv.length; i += 2) {
  opts[process.argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase())] = process.argv[i + 1];
}
const DIST = path.resolve(opts.dist ?? path.join(ROOT, 'target/dist'));
const BINARY = path.resolve(opts.binary ?? path.join(ROOT, 'target/release/stripe-mcp'));
const RUNS = Number(opts.runs);
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm/stripe-mcp-rs/package.json'), 'utf8')).version;
const PLATFORM = `${process.platform}-${process.arch}`;
const MCPB = path.resolve(opts.mcpb ?? path.join(ROOT, 'target/node-tools/node_modules/.bin/mcpb'));

let failures = 0;
function check(ok, what, detail = '') {
  console.error(`    ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures++;
  return ok;
}
const section = (s) => console.error(`\n==> ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// --- a mock Stripe that answers GET /v1/balance and fails loudly on anything else ---
const balance = fs.readFileSync(path.join(ROOT, 'tests/fixtures/balance.json'));
const seen = [];
const unexpected = [];
const mock = http.createServer((req, res) => {
  seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
  if (req.method === 'GET' && req.url === '/v1/balance') {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_install' });
    res.end(balance);
    return;
  }
  unexpected.push(`${req.method} ${req.url}`);
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: `mock: unexpected ${req.method} ${req.url}` } }));
});
await new Promise((r) => mock.listen(0, '127.0.0.1', r));
const API_BASE = `http://127.0.0.1:${mock.address().port}`;

// --- one MCP session over a child's stdio -------------------------------------
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'stripe-mcp-install-'));
// The server reads a .env in its working directory: run it where there is none.
const CWD = fs.mkdtempSync(path.join(WORK, 'cwd-'));

function serverEnv(extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // npx looks for its cache and config here; keep it away from the user's.
    npm_config_cache: path.join(WORK, 'npm-cache'),
    npm_config_update_notifier: 'false',
    RUST_LOG: 'warn',
    ...extra,
  };
}

class Session {
  constructor(command, args, { env = serverEnv({ STRIPE_SECRET_KEY: KEY }), cwd = CWD } = {}) {
    this.t0 = performance.now();
    this.child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.pending = new Map();
    this.notJsonRpc = [];
    this.stdoutLines = 0;
    this.stderr = '';
    this.nextId = 1;
    let buf = '';
    this.child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    this.child.stdout.on('end', () => buf.trim() && this.notJsonRpc.push(buf));
    this.child.stderr.on('data', (c) => (this.stderr += c));
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
    this.child.on('error', (e) => (this.spawnError = e));
  }
  line(text) {
    this.stdoutLines++;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.notJsonRpc.push(text);
      return;
    }
    if (msg === null || typeof msg !== 'object' || msg.jsonrpc !== '2.0') {
      this.notJsonRpc.push(text);
      return;
    }
    const waiter = this.pending.get(msg.id);
    if (waiter) {
      this.pending.delete(msg.id);
      waiter(msg);
    }
  }
  send(obj) {
    this.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', ...obj }) + '\n');
  }
  request(method, params = {}, timeoutMs = 15000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no reply in ${timeoutMs} ms; stderr: ${this.stderr.slice(-500)}`)), timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.exited.then(({ code, signal }) => reject(new Error(`${method}: exited (${code ?? signal}) first; stderr: ${this.stderr.slice(-500)}`)));
      this.send({ id, method, params });
    });
  }
  async initialize() {
    const reply = await this.request('initialize', {
      protocolVersion: PROTOCOL,
      capabilities: {},
      clientInfo: { name: 'install-test', version: '1' },
    });
    this.send({ method: 'notifications/initialized' });
    return reply;
  }
  // Closing stdin ends the session cleanly; anything slower is killed.
  async close(timeoutMs = 5000) {
    this.child.stdin.end();
    const done = await Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
    if (!done) this.child.kill('SIGKILL');
    return done ?? (await this.exited);
  }
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: 'utf8', cwd: CWD, env: serverEnv(), ...options });
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
// The server's pid: the launcher's only child (Linux /proc; elsewhere unknown).
function childPid(pid) {
  try {
    const tasks = fs.readdirSync(`/proc/${pid}/task`);
    const kids = tasks.flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    return kids.length === 1 ? Number(kids[0]) : null;
  } catch {
    return null;
  }
}

// --- the tarballs, installed offline ---------------------------------------------
section(`npm install --offline of the two tarballs (${PLATFORM})`);
const launcherTgz = path.join(DIST, `${LAUNCHER}-${VERSION}.tgz`);
const platformTgz = path.join(DIST, `${LAUNCHER}-${PLATFORM}-${VERSION}.tgz`);
for (const f of [launcherTgz, platformTgz]) {
  if (!fs.existsSync(f)) {
    console.error(`install.mjs: ${f} not found: run bash scripts/package first`);
    process.exit(1);
  }
}
const PREFIX = path.join(WORK, 'prefix');
fs.mkdirSync(PREFIX);
fs.writeFileSync(path.join(PREFIX, 'package.json'), JSON.stringify({ name: 'install-test', private: true }));
const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', launcherTgz, platformTgz], { cwd: PREFIX });
check(install.status === 0, 'npm install --offline', install.status === 0 ? PREFIX : install.stderr);
const BIN = path.join(PREFIX, 'node_modules/.bin', process.platform === 'win32' ? `${LAUNCHER}.cmd` : LAUNCHER);
const LAUNCHER_JS = path.join(PREFIX, 'node_modules', LAUNCHER, 'bin/stripe-mcp-rs.js');
if (!check(fs.existsSync(BIN), 'the launcher is installed as a bin', BIN)) process.exit(1);
const installed = fs.readdirSync(path.join(PREFIX, 'node_modules')).filter((d) => d.startsWith(LAUNCHER));
check(
  installed.sort().join(',') === [LAUNCHER, `${LAUNCHER}-${PLATFORM}`].join(','),
  'only the launcher and this platform package are installed',
  installed.join(', ')
);

// --- the launcher over stdio --------------------------------------------------------
section('the launcher over stdio: initialize, tools/list, get_balance against the mock');
const ARGS = ['--api-base', API_BASE, '--tools=all'];
{
  const s = new Session(BIN, ARGS);
  try {
    const init = await s.initialize();
    check(init.result?.serverInfo?.name === 'stripe-mcp', 'initialize', `${init.result?.serverInfo?.name} ${init.result?.serverInfo?.version}, protocol ${init.result?.protocolVersion}`);
    const list = await s.request('tools/list');
    const names = (list.result?.tools ?? []).map((t) => t.name);
    check(names.length >= 40 && names.includes('get_balance'), 'tools/list', `${names.length} tools`);
    const call = await s.request('tools/call', { name: 'get_balance', arguments: {} });
    const available = call.result?.structuredContent?.available;
    check(call.result && !call.result.isError && Array.isArray(available), 'tools/call get_balance', JSON.stringify(available?.[0] ?? call).slice(0, 120));
    const hit = seen.find((r) => r.url === '/v1/balance');
    check(hit?.method === 'GET' && hit?.auth === `Bearer ${KEY}`, 'the mock saw GET /v1/balance with the key from STRIPE_SECRET_KEY');
  } catch (e) {
    check(false, 'session through the launcher', e.message);
  }
  const end = await s.close();
  check(end.code === 0, 'closing stdin ends the session, exit 0', JSON.stringify(end));
  check(s.notJsonRpc.length === 0 && s.stdoutLines >= 3, 'stdout carried only JSON-RPC', `${s.stdoutLines} lines${s.notJsonRpc.length ? `, not JSON-RPC: ${JSON.stringify(s.notJsonRpc.slice(0, 3))}` : ''}`);
}

section('npx, offline, in the prefix');
{
  const s = new Session('npx', ['--offline', '--no-install', LAUNCHER, ...ARGS], { cwd: PREFIX });
  try {
    await s.initialize();
    const list = await s.request('tools/list');
    check((list.result?.tools ?? []).length >= 40, `npx --offline ${LAUNCHER}: initialize and tools/list`);
  } catch (e) {
    check(false, `npx ${LAUNCHER}`, e.message);
  }
  await s.close();
  check(s.notJsonRpc.length === 0, 'stdout carried only JSON-RPC', s.notJsonRpc.slice(0, 3).join(' | '));
}

section('arguments unchanged, exit codes passed through');
{
  const viaLauncher = run(BIN, ['--version']);
  const bare = run(BINARY, ['--version']);
  check(viaLauncher.status === 0 && viaLauncher.stdout === bare.stdout && bare.stdout.startsWith('stripe-mcp '), '--version: same output and exit code as the binary', viaLauncher.stdout.trim());
  const badKey = serverEnv({ STRIPE_SECRET_KEY: 'pk_test_publishable' });
  const l = run(BIN, [], { env: badKey });
  const b = run(BINARY, [], { env: badKey });
  check(l.status === b.status && l.status === 2 && l.stdout === '' && l.stderr === b.stderr, 'a refused key: exit 2 and the same stderr as the binary, nothing on stdout', l.stderr.trim());
  const bogus = run(BIN, ['--no-such-flag']);
  const bogusBare = run(BINARY, ['--no-such-flag']);
  check(bogus.status === bogusBare.status && bogus.status !== 0, 'an unknown flag: the same exit code as the binary', String(bogus.status));
}

section('signals to the launcher reach the server');
// The server, handed a signal while its session is open, logs this line (RUST_LOG=info).
const SHUTDOWN_LINE = 'shutting down on signal';
const INIT_LINE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'install-test', version: '1' } } }) + '\n';

// Over Node's own stdio (socketpairs, as Node and Electron clients such as Claude
// Desktop and Cursor spawn servers): initialize, signal, wait up to `graceMs`; if
// still running, close stdin and wait again.
async function signalOverSockets(command, signal, graceMs = 1500) {
  const s = new Session(command, ARGS, { env: serverEnv({ STRIPE_SECRET_KEY: KEY, RUST_LOG: 'info' }) });
  await s.initialize();
  await s.request('tools/list');
  const server = command === BINARY ? s.child.pid : childPid(s.child.pid);
  const t = performance.now();
  s.child.kill(signal);
  let end = await Promise.race([s.exited, sleep(graceMs).then(() => null)]);
  const onSignal = end !== null;
  const ms = performance.now() - t;
  if (!end) end = await s.close();
  await sleep(50);
  return { onSignal, ms, end, server, serverGone: server === null || !alive(server), stderr: s.stderr, notJsonRpc: s.notJsonRpc };
}

// Over FIFOs (as a shell or a Python client gives them): the binary reads them
// without blocking, so a signal ends it at once; through the launcher it must too.
async function signalOverFifos(command, signal) {
  const [inPath, outPath] = ['in', 'out'].map((n) => path.join(WORK, `${n}-${signal}.fifo`));
  for (const f of [inPath, outPath]) if (spawnSync('mkfifo', [f]).status !== 0) return null;
  // O_RDWR opens of a FIFO do not wait for the other end.
  const childIn = fs.openSync(inPath, 'r+');
  const parentIn = fs.openSync(inPath, 'w');
  const childOut = fs.openSync(outPath, 'r+');
  const parentOut = fs.openSync(outPath, 'r');
  const child = spawn(command, ARGS, { env: serverEnv({ STRIPE_SECRET_KEY: KEY, RUST_LOG: 'info' }), cwd: CWD, stdio: [childIn, childOut, 'pipe'] });
  fs.closeSync(childIn);
  fs.closeSync(childOut);
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, signal: sig })));
  let out = '';
  const stream = fs.createReadStream(null, { fd: parentOut });
  stream.on('data', (c) => (out += c));
  fs.writeSync(parentIn, INIT_LINE);
  for (let i = 0; i < 200 && !out.includes('\n'); i++) await sleep(25);
  const server = command === BINARY ? child.pid : childPid(child.pid);
  const t = performance.now();
  child.kill(signal);
  const end = await Promise.race([exited, sleep(5000).then(() => null)]);
  const ms = performance.now() - t;
  if (!end) child.kill('SIGKILL');
  fs.closeSync(parentIn);
  stream.destroy();
  await sleep(50);
  return { onSignal: end !== null, ms, end, server, serverGone: server === null || !alive(server), stderr, initialized: out.includes('"serverInfo"') };
}

const how = (r) => (r.end?.signal ? `died of ${r.end.signal}` : `exit ${r.end?.code}`);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  if (process.platform === 'win32') break;
  // SIGHUP has no handler in the server: it ends it the default way.
  const forwarded = (r) => (signal === 'SIGHUP' ? r.end?.signal === 'SIGHUP' : r.stderr.includes(SHUTDOWN_LINE));
  try {
    const fifo = process.platform === 'linux' ? await signalOverFifos(BIN, signal) : null;
    if (fifo) {
      check(
        fifo.initialized && fifo.onSignal && fifo.serverGone && forwarded(fifo),
        `${signal} to the launcher (stdio on FIFOs) ends it and the server`,
        fifo.onSignal ? `launcher ${how(fifo)} after ${fifo.ms.toFixed(0)} ms, server pid ${fifo.server} ${fifo.serverGone ? 'gone' : 'STILL RUNNING'}` : 'still running 5 s later'
      );
    }
    // Over sockets the server itself sometimes outlives the signal (a race in the
    // server, below): required here is that the launcher passes the signal on and
    // that everything ends, with nothing but JSON-RPC on stdout.
    const bare = await signalOverSockets(BINARY, signal);
    const via = await signalOverSockets(BIN, signal);
    const said = (r) =>
      r.onSignal ? `${how(r)} after ${r.ms.toFixed(0)} ms` : `${forwarded(r) ? 'logged the shutdown but ' : 'NEVER GOT THE SIGNAL, '}still running ${(r.ms / 1000).toFixed(0)} s later, ${how(r)} once stdin closed`;
    check(
      forwarded(via) && via.serverGone && via.notJsonRpc.length === 0,
      `${signal} to the launcher (Node's socket stdio) reaches the server, and both end`,
      `binary alone: ${said(bare)}; through the launcher: ${said(via)}`
    );
    if (!bare.onSignal || !via.onSignal) {
      console.error(
        `    KNOWN (server, not the launcher): on ${signal} the server ended its session but stayed alive until stdin closed. rmcp's stdio_pipes() reads stdio without blocking only when both are FIFOs on Linux; otherwise (sockets, macOS, Windows) a blocking stdin read the runtime waits for can be in flight`
      );
    }
  } catch (e) {
    check(false, `${signal}`, e.message);
  }
}

section('an unsupported platform, and a missing platform package');
{
  const fake = path.join(WORK, 'fake-arch.cjs');
  fs.writeFileSync(fake, "Object.defineProperty(process, 'arch', { value: 'mips' });\n");
  const r = run(process.execPath, ['-r', fake, LAUNCHER_JS, '--tools=all']);
  const lines = r.stderr.trim().split('\n');
  check(
    r.status === 1 && r.stdout === '' && lines.length === 1 && lines[0].includes(`${process.platform}-mips`) && lines[0].includes('cargo install'),
    'one stderr line naming the platform and how to build from source, exit 1, nothing on stdout',
    lines[0]
  );
  // The launcher alone, as after `npm install --omit=optional`.
  const solo = path.join(WORK, 'solo/node_modules', LAUNCHER);
  fs.cpSync(path.join(PREFIX, 'node_modules', LAUNCHER), solo, { recursive: true });
  const m = run(process.execPath, [path.join(solo, 'bin/stripe-mcp-rs.js')]);
  check(m.status === 1 && m.stdout === '' && m.stderr.includes(`${LAUNCHER}-${PLATFORM}`) && m.stderr.trim().split('\n').length === 1, 'without the platform package: one stderr line naming it, exit 1', m.stderr.trim());
}

// --- the .mcpb bundle -----------------------------------------------------------
section(`the bundle stripe-mcp-${PLATFORM}.mcpb`);
const bundle = path.join(DIST, `stripe-mcp-${PLATFORM}.mcpb`);
const BUNDLE_DIR = path.join(WORK, 'bundle');
let manifest = null;
if (check(fs.existsSync(MCPB), '@anthropic-ai/mcpb is installed', MCPB)) {
  const v = run(MCPB, ['validate', path.join(ROOT, 'packaging/manifest.json')]);
  check(v.status === 0, 'mcpb validate packaging/manifest.json', (v.stdout + v.stderr).trim().split('\n')[0]);
  const u = run(MCPB, ['unpack', bundle, BUNDLE_DIR]);
  check(u.status === 0, 'mcpb unpack', u.status === 0 ? BUNDLE_DIR : u.stdout + u.stderr);
  const vu = run(MCPB, ['validate', path.join(BUNDLE_DIR, 'manifest.json')]);
  check(vu.status === 0, "mcpb validate on the bundle's own manifest", (vu.stdout + vu.stderr).trim().split('\n')[0]);
  manifest = JSON.parse(fs.readFileSync(path.join(BUNDLE_DIR, 'manifest.json'), 'utf8'));
}

// mcp_config as a client runs it: platform override, ${__dirname}, ${user_config.*}.
function launchSpec(m, userConfig) {
  const base = m.server.mcp_config;
  const cfg = { ...base, ...(base.platform_overrides?.[process.platform] ?? {}) };
  const values = {};
  for (const [k, spec] of Object.entries(m.user_config ?? {})) values[k] = k in userConfig ? userConfig[k] : spec.default;
  const sub = (s) =>
    s.replace(/\$\{__dirname\}/g, BUNDLE_DIR).replace(/\$\{user_config\.([a-z_]+)\}/g, (_, k) => {
      if (values[k] === undefined) throw new Error(`user_config.${k} has no value`);
      return String(values[k]);
    });
  const env = {};
  for (const [k, v] of Object.entries(cfg.env ?? {})) env[k] = sub(v);
  return { command: sub(cfg.command), args: (cfg.args ?? []).map(sub), env };
}

async function bundleToolsList(userConfig) {
  const spec = launchSpec(manifest, userConfig);
  // A client passes almost no environment beyond what the manifest sets.
  const s = new Session(spec.command, [...spec.args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, RUST_LOG: 'warn', ...spec.env } });
  try {
    await s.initialize();
    const list = await s.request('tools/list');
    return { tools: list.result?.tools ?? [], spec, s };
  } finally {
    await s.close();
  }
}

if (manifest) {
  const entry = path.join(BUNDLE_DIR, manifest.server.entry_point);
  check(fs.existsSync(entry) && (process.platform === 'win32' || (fs.statSync(entry).mode & 0o111) !== 0), 'the entry point is in the bundle and executable', manifest.server.entry_point);
  check(manifest.user_config?.stripe_secret_key?.sensitive === true && manifest.user_config.stripe_secret_key.required === true, 'the secret key is a sensitive, required user setting');
  check(JSON.stringify(manifest.compatibility?.platforms) === JSON.stringify([process.platform]), 'compatibility.platforms is this bundle\'s platform', JSON.stringify(manifest.compatibility?.platforms));
  const listed = new Set((manifest.tools ?? []).map((t) => t.name));
  try {
    const plain = await bundleToolsList({ stripe_secret_key: KEY });
    const missing = plain.tools.map((t) => t.name).filter((n) => !listed.has(n));
    check(plain.tools.length >= 40 && missing.length === 0, 'launched as mcp_config says (defaults): every tool it lists is in manifest.tools', `${plain.tools.length} tools, command ${path.relative(WORK, plain.spec.command)} ${plain.spec.args.join(' ')}${missing.length ? `; MISSING: ${missing.join(', ')}` : ''}`);
    check(plain.s.notJsonRpc.length === 0, 'stdout carried only JSON-RPC');
    const ro = await bundleToolsList({ stripe_secret_key: KEY, read_only: true });
    check(ro.tools.length > 0 && ro.tools.length < plain.tools.length && ro.tools.every((t) => t.annotations?.readOnlyHint === true), 'read_only = true offers only read-only tools', `${ro.tools.length} tools`);
    const every = await bundleToolsList({ stripe_secret_key: KEY, tools: 'all,stripe_api_write' });
    const missingAll = every.tools.map((t) => t.name).filter((n) => !listed.has(n));
    check(every.tools.some((t) => t.name === 'stripe_api_write') && missingAll.length === 0, 'tools = "all,stripe_api_write": every tool it lists is in manifest.tools', `${every.tools.length} tools${missingAll.length ? `; MISSING: ${missingAll.join(', ')}` : ''}`);
  } catch (e) {
    check(false, 'the bundle over stdio', e.message);
  }
}

check(unexpected.length === 0, 'the mock saw no unexpected request', unexpected.join(', '));

// --- start-up time -------------------------------------------------------------------
// Round-robin: run i of every variant happens at about the same moment, so the
// load of a shared machine falls on all of them alike.
section(`start-up: spawn → tools/list reply, median of ${RUNS}, variants interleaved`);
async function startupOnce(command, args, { env, cwd } = {}) {
  const s = new Session(command, args, { env, cwd });
  try {
    await s.initialize();
    const list = await s.request('tools/list');
    if (!(list.result?.tools?.length > 0)) throw new Error('tools/list returned no tools');
    return performance.now() - s.t0;
  } finally {
    await s.close();
    if (s.notJsonRpc.length) throw new Error(`not JSON-RPC on stdout: ${s.notJsonRpc[0]}`);
  }
}
// Node alone: spawn → the first byte of a script that loads what the launcher loads,
// in the same small environment as the servers (NODE_EXTRA_CA_CERTS, say, costs ~35 ms).
const NODE_ALONE = path.join(WORK, 'node-alone.js');
fs.writeFileSync(NODE_ALONE, "require('child_process'); require('path'); process.stdout.write('\\n');\n");
async function nodeAloneOnce() {
  const t = performance.now();
  const c = spawn(process.execPath, [NODE_ALONE], { stdio: ['ignore', 'pipe', 'ignore'], env: serverEnv(), cwd: CWD });
  await new Promise((r) => c.stdout.once('data', r));
  const ms = performance.now() - t;
  await new Promise((r) => c.on('exit', r));
  return ms;
}

const variants = [
  ['binary', 'stripe-mcp binary', () => startupOnce(BINARY, ARGS)],
  ['launcher', `${LAUNCHER} launcher (installed bin)`, () => startupOnce(BIN, ARGS)],
  ['npx', `npx ${LAUNCHER} (offline, installed)`, () => startupOnce('npx', ['--offline', '--no-install', LAUNCHER, ...ARGS], { cwd: PREFIX })],
  ['node', 'Node alone (spawn → first byte of a script)', nodeAloneOnce],
];
const officialJs = opts.officialJs && path.resolve(opts.officialJs);
const officialDir = opts.officialDir && path.resolve(opts.officialDir);
if (officialJs && fs.existsSync(officialJs)) {
  const env = serverEnv({ STRIPE_BENCH_BASE: API_BASE });
  const official = ['-r', path.join(ROOT, 'scripts/bench-preload.js'), officialJs, '--tools=all', `--api-key=${KEY}`];
  variants.push(['official', '@stripe/mcp 0.2.5 (node dist/index.js)', () => startupOnce(process.execPath, official, { env })]);
  if (officialDir) {
    variants.push(['officialNpx', 'npx @stripe/mcp 0.2.5 (offline, installed)', () =>
      startupOnce('npx', ['--offline', '--no-install', '@stripe/mcp', '--tools=all', `--api-key=${KEY}`], { env, cwd: officialDir })]);
  }
} else {
  console.error('    @stripe/mcp 0.2.5: skipped (not installed; scripts/test-package installs it into target/bench-node when npm can reach the registry)');
}
const times = Object.fromEntries(variants.map(([k]) => [k, []]));
const broken = {};
for (let i = 0; i < RUNS; i++) {
  for (const [k, , fn] of variants) {
    if (broken[k]) continue;
    try {
      times[k].push(await fn());
    } catch (e) {
      broken[k] = e.message.split('\n')[0];
    }
  }
}
const ms = {};
for (const [k, name] of variants) {
  if (broken[k]) {
    console.error(`    ${name}: skipped (${broken[k]})`);
    continue;
  }
  ms[k] = median(times[k]);
  console.error(`    ${name}: ${ms[k].toFixed(1)} ms`);
}
check(!broken.binary && !broken.launcher && !broken.npx, 'every start-up run of ours answered tools/list with only JSON-RPC on stdout', Object.values(broken).join('; '));
if (ms.binary !== undefined && ms.launcher !== undefined) {
  const added = ms.launcher - ms.binary;
  console.error(`\n    launcher added start-up: ${added.toFixed(1)} ms (Node alone: ${ms.node?.toFixed(1)} ms)`);
  if (ms.npx !== undefined) console.error(`    npx added start-up:      ${(ms.npx - ms.binary).toFixed(1)} ms`);
  if (ms.official !== undefined) console.error(`    @stripe/mcp 0.2.5 through node takes ${(ms.official / ms.launcher).toFixed(1)}x our launcher's start-up`);
  if (ms.officialNpx !== undefined && ms.npx !== undefined) console.error(`    through npx, theirs takes ${(ms.officialNpx / ms.npx).toFixed(1)}x ours`);
  // A wide bound: it catches a launcher that does real work at start, not noise.
  check(added < Math.max(250, 3 * (ms.node ?? 0)), 'the launcher adds about what Node itself costs', `${added.toFixed(1)} ms`);
  if (ms.official !== undefined) check(ms.launcher < ms.official, 'through the launcher we still start before @stripe/mcp 0.2.5');
}

section('sizes');
for (const f of [launcherTgz, platformTgz, bundle]) console.error(`    ${path.basename(f)}: ${fs.statSync(f).size} bytes`);

mock.close();
fs.rmSync(WORK, { recursive: true, force: true });
console.error(failures ? `\ninstall test: ${failures} check(s) FAILED` : '\ninstall test: all checks passed');
process.exit(failures ? 1 : 0);
