/**
 * Playwright drives Debian's Chromium (no downloaded browser) against a real
 * `langgraph dev` and the scripted OpenAI server, both started by e2e/global-setup.ts.
 */
import { defineConfig } from "@playwright/test";

import { CHROMIUM_ARGS, chromiumPath } from "./e2e/chromium";

export default defineConfig({
  testDir: "e2e",
  globalSetup: "./e2e/global-setup.ts",
  // One deployment serves every test, and the machine has two cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] },
    trace: "off",
    screenshot: "off",
  },
});
