/** Threads: a new one, switching between them, and two users who never see each other's. */
import { expect, test } from "@playwright/test";

import { idle, newUser, send, signIn } from "./support";

test("new thread and switching threads show each thread's own messages", async ({ page }) => {
  await signIn(page, newUser("switch"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  await send(page, "count to 3");
  await idle(page);
  await page.getByRole("button", { name: "+ New chat" }).click();
  await expect(page.getByTestId("message-human")).toHaveCount(0);
  await send(page, "count to 5");
  await idle(page);

  const list = page.getByTestId("thread-list").getByRole("button");
  await expect(list).toHaveText(["count to 5", "count to 3"]);
  await list.filter({ hasText: "count to 3" }).click();
  await expect(page.getByTestId("message-ai")).toHaveText(["1 2 3stop"]);
  await list.filter({ hasText: "count to 5" }).click();
  await expect(page.getByTestId("message-ai")).toHaveText(["1 2 3 4 5stop"]);
  await expect(list.filter({ hasText: "count to 5" })).toHaveAttribute("aria-current", "page");
});

test("two users in two browser contexts never see each other's threads", async ({ browser }) => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  await signIn(alice, newUser("alice"));
  await signIn(bob, newUser("bob"));
  await send(alice, "Alice asks: multiply 6 and 7");
  await send(bob, "Bob asks: multiply 2 and 4");
  await idle(alice);
  await idle(bob);

  await expect(alice.getByTestId("thread-list").getByRole("button")).toHaveText([
    "Alice asks: multiply 6 and 7",
  ]);
  await expect(bob.getByTestId("thread-list").getByRole("button")).toHaveText([
    "Bob asks: multiply 2 and 4",
  ]);
  // Bob opening Alice's thread by its address gets a 404, not her messages.
  await bob.goto(alice.url());
  await expect(bob.getByTestId("banner")).toContainText("HTTP 404");
  await expect(bob.getByText("Alice asks")).toHaveCount(0);
  await alice.context().close();
  await bob.context().close();
});

test("changing the graph starts a new thread, and opening a thread selects its graph", async ({ page }) => {
  await signIn(page, newUser("graphs"));
  const graph = page.getByRole("combobox", { name: "Graph" });
  await expect(graph).toHaveValue("agent");
  await send(page, "Multiply 2 and 3");
  await expect(page.getByTestId("tool-result")).toHaveText("6");
  await idle(page);
  await graph.selectOption("chatbot");
  await expect(page.getByTestId("message-human")).toHaveCount(0);
  await send(page, "count to 2");
  await idle(page);

  const list = page.getByTestId("thread-list").getByRole("button");
  await list.filter({ hasText: "Multiply 2 and 3" }).click();
  await expect(graph).toHaveValue("agent");
  await expect(page.getByTestId("tool-result")).toHaveText("6");
  await list.filter({ hasText: "count to 2" }).click();
  await expect(graph).toHaveValue("chatbot");
  await expect(page.getByTestId("message-ai").locator(".text")).toHaveText(["1 2"]);
});
