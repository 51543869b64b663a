/** What every browser suite needs: a fresh build of the UI, Debian's Chromium, and screenshots of failures. */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const WEB_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ARTIFACTS = join(REPO_ROOT, "test-artifacts");
const VITE_BIN = join(REPO_ROOT, "node_modules/vite/bin/vite.js");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export interface BuiltWeb {
  distDir: string;
  remove(): Promise<void>;
}

/** Builds the UI into a private folder, so a suite always runs the current source and never races another build. */
export async function buildWeb(): Promise<BuiltWeb> {
  const distDir = await mkdtemp(join(tmpdir(), "stackyard-web-"));
  // A child process: vite's resolver and the tsx loader of this process do not mix.
  await promisify(execFile)(process.execPath, [
    VITE_BIN,
    "build",
    "--config",
    join(WEB_ROOT, "vite.config.ts"),
    "--outDir",
    distDir,
    "--emptyOutDir",
    "--logLevel",
    "warn",
  ]);
  return { distDir, remove: () => rm(distDir, { recursive: true, force: true }) };
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(options: { defaultTimeoutMs?: number } = {}): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(options.defaultTimeoutMs ?? 10_000);
  const page = await context.newPage();
  return {
    browser,
    context,
    page,
    close: async () => {
      await context.close();
      await browser.close();
    },
  };
}

/** For `afterEach`: a full-page screenshot named after the failed test, in test-artifacts/. */
export async function screenshotFailure(
  test: Mocha.Test | undefined,
  page: Page | undefined,
  prefix: string,
): Promise<void> {
  if (test?.state !== "failed" || !page) return;
  await mkdir(ARTIFACTS, { recursive: true });
  const name = (test.title || "failure").replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  await page.screenshot({ path: join(ARTIFACTS, `${prefix}-${name}.png`), fullPage: true }).catch(() => undefined);
}
