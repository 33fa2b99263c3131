// Preload for `node -r ./scripts/bench-preload.js .../@stripe/mcp/dist/index.js`:
// points the official server's Stripe SDK at a local stand-in, so the benchmark
// measures it against the same fake Stripe as ours. Reads STRIPE_BENCH_BASE
// (e.g. http://127.0.0.1:8420) and patches the `stripe` module's constructor to
// add the SDK's own `host`, `port` and `protocol` options. Nothing else changes.
'use strict';
const path = require('path');

const base = process.env.STRIPE_BENCH_BASE;
if (base) {
  const url = new URL(base);
  const entry = process.argv[1] ? path.dirname(require.resolve(process.argv[1])) : process.cwd();
  const resolved = require.resolve('stripe', { paths: [entry] });
  const Original = require(resolved);
  const overrides = {
    host: url.hostname,
    port: url.port || (url.protocol === 'https:' ? '443' : '80'),
    protocol: url.protocol.replace(':', ''),
  };
  function Patched(key, config) {
    return new Original(key, Object.assign({}, config || {}, overrides));
  }
  Object.assign(Patched, Original);
  Patched.prototype = Original.prototype;
  Patched.default = Patched;
  Patched.Stripe = Patched;
  require.cache[resolved].exports = Patched;
}
