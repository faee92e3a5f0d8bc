/** Every failure is one line in the banner: a down server, a refused token, a run error. */
import { createServer } from "node:net";

import { expect, test } from "@playwright/test";

import { apiUrl, idle, newUser, send, signIn } from "./support";

/** Return a loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

test("a server that is down gives a one-line banner", async ({ page }) => {
  const port = await deadPort();
  const dead = `http://127.0.0.1:${String(port)}`;
  await page.route("**/config.json", (route) =>
    route.fulfill({ json: { apiUrl: dead, devTokens: true, auth: "hs256" } }),
  );
  await signIn(page, newUser("down"));
  await expect(page.getByTestId("banner")).toHaveText(`Cannot reach the server at ${dead}: is it running?×`);
});

test("a refused token gives a one-line banner", async ({ page }) => {
  await page.goto(new URL("/", process.env.WEB_PAGE_URL).toString());
  await page.getByLabel("User").fill("mallory");
  await page.getByText("Use a token instead").click();
  await page.getByLabel("Bearer token").fill("not-a-real-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  const banner = page.getByTestId("banner");
  await expect(banner).toContainText("The server refused your sign-in (HTTP 401)");
  const line = (await banner.locator(".banner-line").textContent()) ?? "";
  expect(line.split("\n")).toHaveLength(1);
  expect(apiUrl()).toMatch(/^http:\/\/127\.0\.0\.1:/);
});

test("a run error gives a one-line banner and the thread stays usable", async ({ page }) => {
  await signIn(page, newUser("fail"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  await send(page, "fail please");
  const banner = page.getByTestId("banner");
  // Both engines send the error's class and a generic line; the detail is in their log.
  await expect(banner.locator(".banner-line")).toHaveText(
    /^The run failed: OpenAIInvalidRequestError: (An internal error occurred|execution failed)$/,
  );
  await idle(page);
  await send(page, "count to 3");
  await expect(banner).toHaveCount(0);
  await idle(page);
  await expect(page.getByTestId("message-ai").last().locator(".text")).toHaveText("1 2 3");
});
