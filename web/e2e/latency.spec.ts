/**
 * Time from pressing Enter to the first and to the last token painted, for `make bench`.
 *
 * `python -m bench web` runs this file against its own stack (WEB_PAGE_URL, WEB_API_URL)
 * with WEB_BENCH_RUNS, WEB_BENCH_WORDS and WEB_BENCH_OUT, and sets the figures beside the
 * CLI's for the same reply. In the normal suite it runs twice with a short reply and
 * checks that each reply arrives whole and that the probe saw it; benchmarks are not
 * timed tests, so nothing here asserts a duration.
 *
 * Each reply goes to a new thread ("+ New chat"), as the CLI's runs use `/new`: every run
 * then starts from the same state (an empty thread, the same prompt), and the thread's
 * creation is part of every run on both sides rather than of the first only.
 */
import { writeFileSync } from "node:fs";

import { expect, test, type Page } from "@playwright/test";

import { counted, idle, newUser, signIn } from "./support";

/** Times in the page's clock (`performance.now()`, ms), null until seen. */
interface Probe {
  enter: number | null;
  first: number | null;
  last: number | null;
}

interface Timing {
  first_ms: number;
  last_ms: number;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}

const RUNS = positiveInt("WEB_BENCH_RUNS", 2);
const WORDS = positiveInt("WEB_BENCH_WORDS", 30);
/**
 * At most this many ms of random wait before each Enter (the bench sets 500): `langgraph
 * dev` polls its run queue every 0.5 s, and replies sent in a fixed rhythm would meet
 * that poll at a fixed phase. 0 (no wait) unless set.
 */
const JITTER_MS = Number(process.env.WEB_BENCH_JITTER_MS ?? "0") || 0;
/** Seconds per streamed chunk of the stack's scripted model, when the environment says. */
const DELAY = ((value: number) => (Number.isFinite(value) && value >= 0 ? value : null))(
  Number(process.env.WEB_E2E_DELAY ?? "NaN"),
);

/**
 * Arm the probe for the next reply: the Enter keydown, then the newest AI bubble's text.
 *
 * A keydown listener in the capture phase notes when Enter goes down, before the page's
 * own handler sends the message. A MutationObserver then watches the last
 * `[data-testid="message-ai"] .text`: the first mutation that gives it a non-empty text
 * and the one that makes it equal `expected`. "Painted" is approximated by the
 * requestAnimationFrame callback after that mutation: it runs at the start of the frame
 * that draws the change, so the pixels land within that frame's compositing, after it.
 */
async function armProbe(page: Page, expected: string): Promise<void> {
  await page.evaluate((expected) => {
    const probe: Probe = { enter: null, first: null, last: null };
    (window as unknown as { __latency: Probe }).__latency = probe;
    let firstSeen = false;
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== "Enter" || event.shiftKey) return;
      probe.enter = performance.now();
      document.removeEventListener("keydown", onKeyDown, true);
    };
    document.addEventListener("keydown", onKeyDown, true);
    const observer = new MutationObserver(() => {
      if (probe.enter === null) return;
      const bubble = Array.from(document.querySelectorAll('[data-testid="message-ai"]')).at(-1);
      const text = bubble?.querySelector(".text")?.textContent ?? "";
      if (text !== "" && !firstSeen) {
        firstSeen = true;
        requestAnimationFrame(() => {
          probe.first = performance.now();
        });
      }
      if (text === expected) {
        observer.disconnect();
        requestAnimationFrame(() => {
          probe.last = performance.now();
        });
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  }, expected);
}

async function probed(page: Page): Promise<Probe> {
  return page.evaluate(() => (window as unknown as { __latency: Probe }).__latency);
}

test("Enter to the first and the last token painted, for the benchmark", async ({ page }) => {
  // Generous: a loaded machine slows the runs, and no duration is asserted.
  const replyMs = WORDS * (DELAY ?? 0.1) * 1000;
  test.setTimeout(60_000 + RUNS * (replyMs + 30_000));
  await signIn(page, newUser("latency"));
  await page.getByRole("combobox", { name: "Graph" }).selectOption("chatbot");
  const box = page.getByLabel("Message");
  const answers = page.getByTestId("message-ai");
  const expected = counted(WORDS);
  const runs: Timing[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    if (run > 0) await page.getByRole("button", { name: "+ New chat" }).click();
    await expect(answers).toHaveCount(0);
    await box.fill(`count to ${String(WORDS)}`);
    if (JITTER_MS > 0) await page.waitForTimeout(Math.random() * JITTER_MS);
    await armProbe(page, expected);
    await box.press("Enter");
    await expect(answers.last().locator(".text")).toHaveText(expected, { timeout: replyMs + 30_000 });
    await expect.poll(async () => (await probed(page)).last !== null).toBe(true);
    await idle(page);
    expect(await answers.last().locator(".text").textContent()).toBe(expected);
    const { enter, first, last } = await probed(page);
    if (enter === null || first === null || last === null) {
      throw new Error(`the probe missed a moment: ${JSON.stringify({ enter, first, last })}`);
    }
    expect(first).toBeLessThanOrEqual(last);
    runs.push({ first_ms: first - enter, last_ms: last - enter });
  }
  const out = process.env.WEB_BENCH_OUT;
  if (out) writeFileSync(out, JSON.stringify({ runs, words: WORDS, delay: DELAY }, null, 1) + "\n");
});
