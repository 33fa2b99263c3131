// The test host for stripe-mcp's MCP Apps views (driven by tests/apps.rs).
//
// Reads cases (a view's HTML from resources/read, the tool's arguments and its real
// result), loads each view into a sandboxed iframe in headless Chromium, speaks the
// extension's postMessage protocol to it (answers ui/initialize, sends
// ui/notifications/tool-input and tool-result), then reports what the rendered DOM shows:
// every [data-testid] element's text, the payment link, the QR code decoded from pixels,
// and every tools/call the view asked the host for after its buttons were pressed. Saves a
// screenshot of each view. Usage: node host.mjs CASES.json OUT_DIR
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const [casesPath, outDir] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
mkdirSync(outDir, { recursive: true });

const HOST = `<!doctype html><html><head><style>
body{margin:0;padding:16px;background:#e9ecef;font-family:system-ui}
body.dark{background:#111214}
iframe{width:720px;height:200px;border:0;border-radius:10px;display:block;background:transparent}
</style></head><body><script>
window.toolCalls = [];
window.openLinks = [];
window.runCase = (c) => new Promise((done) => {
  document.body.className = c.theme;
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("title", c.name);
  frame.srcdoc = c.html;
  const reply = (id, result) => frame.contentWindow.postMessage({ jsonrpc: "2.0", id, result }, "*");
  const notify = (method, params) => frame.contentWindow.postMessage({ jsonrpc: "2.0", method, params }, "*");
  window.addEventListener("message", (e) => {
    if (e.source !== frame.contentWindow) return;
    const m = e.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === "ui/initialize") {
      reply(m.id, {
        protocolVersion: "2026-01-26",
        hostInfo: { name: "stripe-mcp-test-host", version: "1.0.0" },
        hostCapabilities: { openLinks: {}, serverTools: {} },
        hostContext: { theme: c.theme, displayMode: "inline", locale: "en-US", platform: "web" }
      });
    } else if (m.method === "ui/notifications/initialized") {
      notify("ui/notifications/tool-input", { arguments: c.input });
      notify("ui/notifications/tool-result", c.result);
      setTimeout(done, 50);
    } else if (m.method === "ui/notifications/size-changed") {
      if (m.params && m.params.height) frame.style.height = Math.min(m.params.height, 1400) + "px";
    } else if (m.method === "tools/call") {
      window.toolCalls.push(m.params);
      reply(m.id, c.result);
    } else if (m.method === "ui/open-link") {
      window.openLinks.push(m.params.url);
      reply(m.id, {});
    } else if (m.id !== undefined) {
      frame.contentWindow.postMessage({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "not in the test host" } }, "*");
    }
  });
  document.body.appendChild(frame);
});
</script></body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
});
const report = {};
try {
  for (const c of cases) {
    const context = await browser.newContext({ viewport: { width: 760, height: 900 }, colorScheme: c.theme, locale: "en-US", timezoneId: "UTC" });
    // The views need no network: every request but the host page itself fails the case.
    const requests = [];
    await context.route("**/*", (route) => { requests.push(route.request().url()); route.abort(); });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.setContent(HOST);
    await page.evaluate((c) => window.runCase(c), c);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    await frame.waitForSelector("[data-testid]", { timeout: 10000 });
    await page.waitForTimeout(150);
    const texts = await frame.$$eval("[data-testid]", (els) => {
      const out = {};
      for (const e of els) (out[e.getAttribute("data-testid")] ||= []).push(e.textContent.trim());
      return out;
    });
    const links = await frame.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href")));
    const chartGroups = await frame.$$eval("svg[data-testid=chart] g.p", (gs) => gs.map((g) => g.getAttribute("aria-label")));
    const shot = join(outDir, c.name + ".png");
    await (await page.$("iframe")).screenshot({ path: shot });
    let qr = null;
    const code = await frame.$("[data-testid=qr]");
    if (code) {
      const png = PNG.sync.read(await code.screenshot());
      const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
      qr = found ? found.data : "";
    }
    // Keyboard: the chart's first period takes focus by Tab and moves by arrow keys.
    let focused = null;
    if (chartGroups.length > 1) {
      await frame.focus("svg[data-testid=chart] g.p[tabindex='0']");
      await page.keyboard.press("ArrowRight");
      focused = await frame.evaluate(() => document.activeElement && document.activeElement.getAttribute("aria-label"));
    }
    // Press every button: the view may only ask the host for read-only tools.
    // (Re-queried each time: a refresh redraws the view.)
    const buttons = (await frame.$$("button")).length;
    for (let i = 0; i < buttons; i++) {
      const b = (await frame.$$("button"))[i];
      if (b) { await b.click(); await page.waitForTimeout(50); }
    }
    for (const a of await frame.$$("a[data-testid=pay]")) { await a.click(); await page.waitForTimeout(50); }
    const after = await frame.$$eval("[data-testid]", (els) => {
      const out = {};
      for (const e of els) (out[e.getAttribute("data-testid")] ||= []).push(e.textContent.trim());
      return out;
    });
    const toolCalls = await page.evaluate(() => window.toolCalls);
    const openLinks = await page.evaluate(() => window.openLinks);
    report[c.name] = { texts, after, links, qr, chartGroups, focused, toolCalls, openLinks, requests, problems, screenshot: shot };
    await context.close();
  }
} finally {
  await browser.close();
}
writeFileSync(join(outDir, "report.json"), JSON.stringify(report, null, 2));
process.stdout.write(JSON.stringify(report));
