/**
 * The explorer UI tests' browser: Debian's headless Chromium through playwright-core, launched the same way by
 * every file (once per file), an axe-core check, and screenshots that go to a scratch directory unless
 * UPDATE_SCREENSHOTS=1 asks for the committed ones in docs/screenshots/ to be rewritten.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO_ROOT, tempDir } from "../utils/devnode.js";

/** Locator waits: generous, the page renders on a shared 2-core machine. */
export const WAIT = { timeout: 60_000 };

/**
 * Headless Chromium as root on a machine without network: no sandbox, no background traffic, a fresh profile
 * (deleted when the browser closes). The page's Content-Security-Policy stays on: the UI must work under it.
 * Launch once per file in `beforeAll`, `close()` in `afterAll`.
 */
export async function launchBrowser(): Promise<BrowserContext> {
  const profile = tempDir("explorer-chromium");
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      ...["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
      ...["--disable-background-networking", "--disable-component-update", "--disable-sync"],
    ],
  });
  // Chromium's helper processes may still be writing the profile as the context reports "close": retry, and
  // never throw from the event handler (an uncaught ENOTEMPTY there fails the whole test run).
  browser.once("close", () => {
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // a scratch directory under the OS temp dir; left behind at worst
    }
  });
  return browser;
}

/** Where screenshots go: the README's docs/screenshots/ with UPDATE_SCREENSHOTS=1, else a directory per run. */
let screenshotDir: string | undefined;

function screenshotsDir(): string {
  if (screenshotDir === undefined) {
    screenshotDir =
      process.env.UPDATE_SCREENSHOTS === "1" ? join(REPO_ROOT, "docs/screenshots") : tempDir("explorer-screenshots");
    mkdirSync(screenshotDir, { recursive: true });
  }
  return screenshotDir;
}

/** Saves the page as `name` (e.g. explorer-home.png); returns the file written. */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  const path = join(screenshotsDir(), name);
  await page.screenshot({ path, fullPage: opts.fullPage ?? false });
  return path;
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it is now (id, impact, the nodes' selectors). */
export async function seriousAxeViolations(page: Page): Promise<unknown[]> {
  // injected through the DevTools protocol, which the page's CSP (no inline scripts) does not govern
  if ((await page.evaluate("typeof window.axe")) !== "object") await page.evaluate(AXE);
  return (await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) })))`)) as unknown[];
}
