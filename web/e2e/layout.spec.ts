/** The summary marker, and the page at a phone's width. */
import { expect, test } from "@playwright/test";

import { idle, newUser, send, signIn } from "./support";

test("a summarized conversation shows the marker with the summary", async ({ page }) => {
  await signIn(page, newUser("summary"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  await send(page, "Hi, my name is Ada");
  await idle(page);
  await expect(page.getByTestId("summary")).toHaveCount(0);
  for (const text of ["count to 2", "count to 3", "count to 4"]) {
    await send(page, text);
    await idle(page);
  }
  const marker = page.getByTestId("summary");
  await expect(marker).toBeVisible();
  await marker.getByText("Earlier messages were summarized").click();
  await expect(marker.locator("p")).toContainText("Ada");
});

test("the page is usable 375 px wide", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 720 } });
  const page = await context.newPage();
  await signIn(page, newUser("phone"));
  await send(page, "Multiply 2 and 3");
  await idle(page);
  await expect(page.getByTestId("tool-result")).toHaveText("6");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(overflow).toBeLessThanOrEqual(375);
  await expect(page.getByTestId("thread-list")).toBeHidden();
  await page.getByRole("button", { name: "Threads" }).click();
  await expect(page.getByTestId("thread-list").getByRole("button")).toHaveText(["Multiply 2 and 3"]);
  await page.getByRole("button", { name: "+ New chat" }).click();
  await expect(page.getByLabel("Message")).toBeVisible();
  await expect(page.getByTestId("message-human")).toHaveCount(0);
  await context.close();
});
