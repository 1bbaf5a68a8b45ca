import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasTool, repoRoot, skipReason } from "../../../scripts/test-env.js";

const CHROMIUM = "/usr/bin/chromium";
const docsDir = join(repoRoot, "apps", "docs");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/** Serves `root` like a static host with clean URLs: `/playground` is `playground.html`. */
function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const candidates = [join(root, path), join(root, `${path}.html`), join(root, path, "index.html")];
    const file = candidates.find((f) => f.startsWith(root) && existsSync(f) && statSync(f).isFile());
    if (!file) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe.skipIf(
  skipReason("the playground browser test", [
    [hasTool(CHROMIUM), `${CHROMIUM} not installed (apt-get install chromium)`],
  ]),
)("the playground in Chromium", () => {
  let outDir = "";
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base = "";
  const pageErrors: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), "bpfkit-docs-"));
    // The real production build, server-side render included: a page that breaks SSR fails here.
    execFileSync("pnpm", ["exec", "vitepress", "build", "--outDir", outDir], { cwd: docsDir, stdio: "pipe" });
    server = await serve(outDir);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      // The site has no favicon; the browser's own request for one is not the page's error.
      if (m.type() === "error" && !m.location().url.endsWith("/favicon.ico"))
        pageErrors.push(`${m.text()} (${m.location().url})`);
    });
    const started = performance.now();
    await page.goto(`${base}/playground`);
    await page.getByTestId("example").waitFor();
    console.log(`playground interactive ${Math.round(performance.now() - started)} ms after navigation`);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it("renders the page on the server without the bpfkit packages", () => {
    const html = readFileSync(join(outDir, "playground.html"), "utf8");
    expect(html).toMatch(/<h1 id="playground"[^>]*>Playground/);
    expect(html).not.toContain("assembleUbpf");
  });

  it("runs the FNV example: r0, the stats and a trace row per instruction", async () => {
    await page.getByTestId("example").selectOption("fnv");
    await page.getByTestId("run").click();
    // FNV-1a of "hello", 32 bits.
    await expect.poll(() => page.getByTestId("r0").textContent()).toBe("0x4f9f2cab (1335831723)");
    const stats = (await page.getByTestId("stats").textContent()) ?? "";
    const insns = Number(/(\d+) instructions/.exec(stats)?.[1]);
    expect(insns).toBeGreaterThan(5);
    expect(await page.getByTestId("trace").locator("tbody tr").count()).toBe(insns);
    expect(await page.getByTestId("trace").locator("tbody tr").first().textContent()).toContain("w0 = ");
    expect(await page.getByTestId("listing").locator("tbody tr").count()).toBeGreaterThan(5);
  });

  it("shows the fault of the out-of-bounds example", async () => {
    await page.getByTestId("example").selectOption("oob");
    await page.getByTestId("run").click();
    const fault = page.getByTestId("fault");
    await fault.waitFor();
    const text = (await fault.textContent()) ?? "";
    expect(text).toContain("access fault at insn 2");
    expect(text).toContain("out of bounds");
    expect(await page.getByTestId("fault-fields").textContent()).toMatch(
      /^8-byte read at 0xffff[0-9a-f]{4}00000004, region "mem"$/,
    );
    expect(await page.getByTestId("r0").count()).toBe(0);
    expect(await page.locator(".pg-faulted").count()).toBe(1);
  });

  it("links to the program that ran: the address opens it again", async () => {
    await page.getByTestId("example").selectOption("oob");
    await page.getByTestId("memory").fill("01 02 03 04 05 06");
    await page.getByTestId("run").click();
    const link = page.url();
    expect(link).toMatch(/\/playground#v1\./);
    const other = await (browser as Browser).newPage();
    await other.goto(link);
    await other.getByTestId("run").click();
    await other.getByTestId("fault").waitFor();
    expect(await other.getByTestId("memory").inputValue()).toBe("01 02 03 04 05 06");
    expect(await other.getByTestId("source").inputValue()).toContain("ldxdw %r0, [%r1+4]");
    await other.close();
  });

  it("shows the callee's instructions at depth 1 in the bpf-to-bpf example", async () => {
    await page.getByTestId("example").selectOption("call");
    await page.getByTestId("run").click();
    await expect.poll(() => page.getByTestId("r0").textContent()).toBe("0x15 (21)");
    const depths = await page.getByTestId("trace").locator("tbody tr td:nth-child(3)").allTextContents();
    expect(depths.filter((d) => d === "1").length).toBe(7);
  });

  it("lists a dropped .o and runs a function opened from it", async () => {
    await page.getByTestId("object-file").setInputFiles(join(repoRoot, "fixtures", "bpf", "isa-alu.bpf.o"));
    const object = page.getByTestId("object");
    await object.getByText("Open in editor").first().waitFor();
    expect(await object.textContent()).toContain("isa_alu");
    await object.getByText("Open in editor").first().click();
    expect(await page.getByTestId("syntax").inputValue()).toBe("llvm");
    await page.getByTestId("run").click();
    await expect.poll(() => page.getByTestId("r0").textContent()).toMatch(/^0x[0-9a-f]+/);
  });

  it("opens a .o dropped on the page, and says why libbpf would refuse it", async () => {
    const bytes = [...readFileSync(join(repoRoot, "fixtures", "bpf", "subprogs.bpf.o"))];
    const transfer = await page.evaluateHandle((data) => {
      // Runs in the page; the test's own types have no DOM.
      const dom = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: unknown): void } };
        File: new (parts: Uint8Array[], name: string) => unknown;
      };
      const dt = new dom.DataTransfer();
      dt.items.add(new dom.File([new Uint8Array(data)], "subprogs.bpf.o"));
      return dt;
    }, bytes);
    await page.locator(".bpf-playground").dispatchEvent("drop", { dataTransfer: transfer });
    await expect.poll(() => page.getByTestId("object").textContent()).toContain("static and not supported");
    expect(await page.getByTestId("object").textContent()).toContain("<global_add>:");
  });

  it("logged no errors in the browser", () => {
    expect(pageErrors).toEqual([]);
  });
});
