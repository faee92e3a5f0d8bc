/** With "Review tool calls" on, each call waits for approve, edit or reject. */
import { expect, test, type Page } from "@playwright/test";

import { idle, newUser, send, signIn } from "./support";

async function reviewOn(page: Page) {
  await signIn(page, newUser("review"));
  await page.getByLabel("Review tool calls").check();
}

test("approve runs the call as the model made it", async ({ page }) => {
  await reviewOn(page);
  await send(page, "Multiply 2 and 3");
  const card = page.getByTestId("review-card");
  await expect(card).toContainText('multiply{"a": 2, "b": 3}');
  await expect(page.getByTestId("tool-result")).toHaveCount(0);
  await card.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("tool-result")).toHaveText("6");
  await idle(page);
  await expect(page.getByTestId("review")).toHaveCount(0);
  await expect(page.getByTestId("message-ai").last().locator(".text")).toContainText("6");
});

test("edit runs the call with the arguments typed in", async ({ page }) => {
  await reviewOn(page);
  await send(page, "Multiply 4 and 5");
  await page.getByTestId("review-card").getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Arguments for multiply").fill('{"a": 4, "b": 6}');
  await page.getByRole("button", { name: "Run with these arguments" }).click();
  await expect(page.getByTestId("tool-result")).toHaveText("24");
  await expect(page.getByTestId("tool-args")).toHaveText('{"a": 4, "b": 6}');
  await idle(page);
  await expect(page.getByTestId("message-ai").last().locator(".text")).toContainText("24");
});

test("edit refuses arguments that are not JSON, on the page", async ({ page }) => {
  await reviewOn(page);
  await send(page, "Multiply 4 and 5");
  await page.getByTestId("review-card").getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Arguments for multiply").fill("a=4");
  await page.getByRole("button", { name: "Run with these arguments" }).click();
  await expect(page.getByTestId("review")).toContainText("the arguments must be JSON");
  await expect(page.getByTestId("review-card")).toHaveCount(1);
});

test("reject answers the call with the reason and runs nothing", async ({ page }) => {
  await reviewOn(page);
  await send(page, "Multiply 7 and 8");
  await page.getByTestId("review-card").getByRole("button", { name: "Reject" }).click();
  await page.getByLabel("Why reject multiply").fill("not today");
  await page.getByRole("button", { name: "Reject call" }).click();
  await idle(page);
  await expect(page.getByTestId("tool-call")).toHaveAttribute("data-state", "error");
  await expect(page.getByTestId("tool-result")).toHaveText("not today");
  await expect(page.getByTestId("messages")).not.toContainText("56");
});

test("two parallel calls get one decision each", async ({ page }) => {
  await reviewOn(page);
  await send(page, "2 + 3 and 4 * 5");
  const cards = page.getByTestId("review-card");
  await expect(cards).toHaveCount(2);
  await cards.nth(0).getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("tool-result")).toHaveCount(0);
  await cards.nth(1).getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("tool-result")).toHaveText(["5", "20"]);
  await idle(page);
});

test("a reload keeps the review waiting, and approving it then finishes the turn", async ({ page }) => {
  await reviewOn(page);
  await send(page, "Multiply 3 and 3");
  await expect(page.getByTestId("review-card")).toHaveCount(1);
  await page.reload();
  const card = page.getByTestId("review-card");
  await expect(card).toContainText('multiply{"a": 3, "b": 3}');
  await card.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("tool-result")).toHaveText("9");
  await idle(page);
  await expect(page.getByTestId("message-human")).toHaveText(["Multiply 3 and 3"]);
});

test("a new message instead of a decision drops the call and is answered", async ({ page }) => {
  await reviewOn(page);
  await send(page, "Multiply 7 and 8");
  await expect(page.getByTestId("review-card")).toHaveCount(1);
  await page.getByLabel("Review tool calls").uncheck();
  await send(page, "Multiply 2 and 3");
  await idle(page);
  await expect(page.getByTestId("review")).toHaveCount(0);
  // Over `runs` the thread keeps the dropped call without a result: the card says so.
  const cards = page.getByTestId("tool-call");
  await expect(cards.nth(0)).toHaveAttribute("data-state", "dropped");
  await expect(cards.nth(0)).toContainText("not run");
  await expect(page.getByTestId("tool-result")).toHaveText(["6"]);
  await expect(page.getByTestId("message-ai").last().locator(".text")).toContainText("6");
});
