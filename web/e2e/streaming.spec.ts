/** Tokens and tool-call arguments stream into the page as they are generated. */
import { expect, test } from "@playwright/test";

import { idle, newUser, record, recorded, send, signIn } from "./support";

test("a tool call's arguments fill in live, then its result, then the typed-out answer", async ({ page }) => {
  await signIn(page, newUser("args"));
  await record(page, "args", '[data-testid="tool-args"]');
  await record(page, "answer", '[data-testid="message-ai"]:last-of-type .text');
  await send(page, "Multiply 2 and 3");
  await expect(page.getByTestId("tool-result")).toHaveText("6");
  await idle(page);

  expect(await recorded(page, "args")).toEqual(["{}", '{"a": 2}', '{"a": 2, "b": 3}']);
  const answers = page.getByTestId("message-ai");
  await expect(answers).toHaveCount(2);
  const final = (await answers.last().locator(".text").textContent()) ?? "";
  expect(final).toContain("6");
  // Typed out: the answer grew word by word, each text a prefix of the next.
  const texts = (await recorded(page, "answer")).filter((text) => text !== "");
  expect(texts.length).toBeGreaterThan(3);
  expect(texts.at(-1)).toBe(final);
  for (const [index, text] of texts.slice(1).entries()) {
    expect(text.startsWith(texts[index] ?? "")).toBe(true);
  }
  // Finish reasons, in a detail line and on hover.
  await expect(answers.first().getByTestId("finish-reason")).toHaveText("tool_calls");
  await expect(answers.last().getByTestId("finish-reason")).toHaveText("stop");
  await expect(answers.last()).toHaveAttribute("title", "finish reason: stop");
  await expect(page.getByTestId("tool-call")).toHaveAttribute("data-state", "done");
  // The thread list names the new thread after its first message.
  await expect(page.getByTestId("thread-list").getByRole("button")).toHaveText(["Multiply 2 and 3"]);
});

test("Enter sends, Shift+Enter makes a new line", async ({ page }) => {
  await signIn(page, newUser("keys"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  const box = page.getByLabel("Message");
  await box.fill("line one");
  await box.press("Shift+Enter");
  await box.pressSequentially("line two");
  await expect(page.getByTestId("message-human")).toHaveCount(0);
  await box.press("Enter");
  await expect(page.getByTestId("message-human")).toHaveText(["line one\nline two"]);
  await expect(box).toHaveValue("");
  await idle(page);
  await expect(page.getByTestId("message-ai")).toHaveCount(1);
});
