/** The README's picture of the page in the middle of a reply, taken by the test run. */
import { expect, test } from "@playwright/test";

import { idle, send, signIn } from "./support";

test("a screenshot mid-reply shows the tool card and the answer being typed", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1000, height: 640 });
  // A plain name: every run starts a fresh deployment, and the picture shows it.
  await signIn(page, "ada");
  await send(page, "Multiply 2 and 3");
  await expect(page.getByTestId("tool-result")).toHaveText("6");
  await idle(page);
  await send(page, "Now count to 100");
  const answer = page.getByTestId("message-ai").last().locator(".text");
  await expect(answer).toContainText("1 2 3 4 5 6 7 8 ");
  const path = process.env.WEB_SCREENSHOT ?? testInfo.outputPath("page-mid-reply.png");
  await page.screenshot({ path });
  expect(await answer.textContent()).not.toContain("100");
  await idle(page);
});
