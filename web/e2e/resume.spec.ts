/** A reload mid-reply rejoins the run; Stop cancels it on the server. */
import { expect, test } from "@playwright/test";

import { api, counted, idle, newUser, openThread, send, signIn } from "./support";

test("a reload in the middle of a reply shows the whole reply exactly once", async ({ page }) => {
  await signIn(page, newUser("reload"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  await send(page, "count to 150");
  const answer = page.getByTestId("message-ai").locator(".text");
  await expect(answer).toContainText("1 2 3 4 5 ");
  expect(await answer.textContent()).not.toContain("150");
  await page.reload();

  await expect(page.getByTestId("message-ai")).toHaveCount(1);
  await idle(page);
  await expect(page.getByTestId("message-human")).toHaveText(["count to 150"]);
  await expect(page.getByTestId("message-ai").locator(".text")).toHaveText([counted(150)]);
  const runs = await api<{ status: string }[]>(page, `/threads/${openThread(page)}/runs`);
  expect(runs.map((run) => run.status)).toEqual(["success"]);
});

test("Stop cancels the run on the server and the thread stays usable", async ({ page }) => {
  await signIn(page, newUser("stop"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  await send(page, "count to 200");
  const answer = page.getByTestId("message-ai").locator(".text");
  await expect(answer).toContainText("1 2 3 ");
  await page.getByRole("button", { name: "Stop" }).click();
  await idle(page);
  const thread = openThread(page);
  await expect
    .poll(async () => (await api<{ status: string }[]>(page, `/threads/${thread}/runs`)).map((run) => run.status))
    .toEqual(["interrupted"]);
  // The words already shown stay, marked as stopped; the run wrote no more of them.
  const replies = page.getByTestId("message-ai");
  await expect(replies).toHaveCount(1);
  await expect(replies.getByTestId("finish-reason")).toHaveText("stopped");
  const stoppedAt = (await answer.textContent()) ?? "";
  expect(counted(200).startsWith(stoppedAt)).toBe(true);
  expect(stoppedAt).not.toContain("200");

  await send(page, "count to 4");
  await idle(page);
  await expect(replies).toHaveCount(2);
  await expect(replies.locator(".text")).toHaveText([stoppedAt, counted(4)]);
  await expect(page.getByTestId("message-human")).toHaveText(["count to 200", "count to 4"]);
  await expect(page.getByTestId("banner")).toHaveCount(0);
});
