  // --- shared by every view: src/tools/ui/common.js, put in place of the page's
  // `//@common.js` line when the page is served. The page's script defines APP,
  // READ_ONLY, view and draw before it; its CSP pins the whole script by hash. ---
  var host = { caps: {}, locale: undefined };

  // --- the MCP Apps postMessage protocol (JSON-RPC 2.0 with the host) ---
  var seq = 0, waiting = {};
  function post(m) { window.parent.postMessage(m, "*"); }
  function call(method, params) {
    var id = ++seq;
    post({ jsonrpc: "2.0", id: id, method: method, params: params });
    return new Promise(function (ok, fail) { waiting[id] = [ok, fail]; });
  }
  function notify(method, params) { post({ jsonrpc: "2.0", method: method, params: params || {} }); }
  function context(c) {
    if (!c) return;
    if (c.theme === "dark" || c.theme === "light") document.documentElement.setAttribute("data-theme", c.theme);
    var v = c.styles && c.styles.variables;
    if (v) for (var k in v) if (/^--[a-z0-9-]+$/.test(k) && typeof v[k] === "string") document.documentElement.style.setProperty(k, v[k]);
    if (typeof c.locale === "string") host.locale = c.locale;
  }
  window.addEventListener("message", function (e) {
    if (e.source !== window.parent) return;
    var m = e.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined) {
      var w = waiting[m.id];
      if (w) { delete waiting[m.id]; if (m.error) w[1](m.error); else w[0](m.result); }
      return;
    }
    var p = m.params || {};
    if (m.method === "ui/notifications/tool-input") { view.input = p.arguments || {}; }
    else if (m.method === "ui/notifications/tool-result") { view.result = p; draw(); }
    else if (m.method === "ui/notifications/host-context-changed") { context(p); }
    else if (m.method === "ui/resource-teardown") { post({ jsonrpc: "2.0", id: m.id, result: {} }); }
    else if (m.id !== undefined) { post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "not supported" } }); }
  });
  call("ui/initialize", { appInfo: { name: APP, version: "1.0.0" }, appCapabilities: {}, protocolVersion: "2026-01-26" })
    .then(function (r) { host.caps = (r && r.hostCapabilities) || {}; context(r && r.hostContext); notify("ui/notifications/initialized"); draw(); }, function () {});
  function fit() { notify("ui/notifications/size-changed", { height: Math.ceil(document.documentElement.getBoundingClientRect().height) }); }
  if (window.ResizeObserver) new ResizeObserver(fit).observe(document.documentElement);
  function refresh(name, args) {
    if (READ_ONLY.indexOf(name) < 0 || !host.caps.serverTools) return;
    call("tools/call", { name: name, arguments: args || {} }).then(function (r) { view.result = r; draw(); }, function (e) { view.result = { isError: true, content: [{ type: "text", text: (e && e.message) || "refresh failed" }] }; draw(); });
  }

  // --- helpers ---
  function h(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] != null && attrs[k] !== false) e.setAttribute(k, attrs[k]);
    (kids || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c))); });
    return e;
  }
  function svg(tag, attrs, kids) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs || {}) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    (kids || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c))); });
    return e;
  }
  // Amounts are integers in the currency's minor unit, formatted as the server formats them.
  var ZERO = "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split(" ");
  var THREE = "bhd jod kwd omr tnd".split(" ");
  var SYMBOL = { usd: "$", eur: "\u20ac", gbp: "\u00a3", jpy: "\u00a5", inr: "\u20b9", krw: "\u20a9" };
  function money(minor, cur) {
    cur = String(cur || "").toLowerCase();
    var places = ZERO.indexOf(cur) >= 0 ? 0 : THREE.indexOf(cur) >= 0 ? 3 : 2;
    var scale = Math.pow(10, places), a = Math.abs(Math.round(minor));
    var whole = String(Math.floor(a / scale)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var n = places ? whole + "." + String(a % scale).padStart(places, "0") : whole;
    var sign = minor < 0 ? "-" : "";
    return SYMBOL[cur] ? sign + SYMBOL[cur] + n : sign + n + " " + cur.toUpperCase();
  }
  function data() {
    var r = view.result;
    if (!r) return null;
    var text = (r.content || []).filter(function (c) { return c.type === "text"; }).map(function (c) { return c.text; }).join("\n");
    if (r.isError) {
      try { var j = JSON.parse(text); return { error: (j.error && (j.error.message + (j.error.hint ? " " + j.error.hint : ""))) || text }; } catch (e) { return { error: text }; }
    }
    if (r.structuredContent) return r.structuredContent;
    try { return JSON.parse(text); } catch (e) { return { error: "the result has no data to draw" }; }
  }
