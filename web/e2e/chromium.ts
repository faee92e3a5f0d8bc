/** Where Debian's Chromium is and the flags it runs with in these tests. */
import { existsSync } from "node:fs";

/** Flags that work on these machines (../shared/STACK-FACTS.md). Playwright adds a fresh profile. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
] as const;

/**
 * Return the Chromium executable: `$CHROMIUM_PATH`, else Debian's.
 *
 * @throws Error with one line when there is none: no test downloads a browser.
 */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(path)) {
    throw new Error(`Chromium is missing at ${path}: run 'apt-get install -y chromium' or set CHROMIUM_PATH`);
  }
  return path;
}
