/** What the browser tests share: signing in, sending, waiting, and recording the DOM. */
import { expect, type Page } from "@playwright/test";

/** The page's URL, exported by global-setup.ts. */
export function pageUrl(): string {
  const url = process.env.WEB_PAGE_URL;
  if (!url) throw new Error("WEB_PAGE_URL is not set: run through playwright.config.ts");
  return url;
}

/** The deployment's URL, exported by global-setup.ts. */
export function apiUrl(): string {
  const url = process.env.WEB_API_URL;
  if (!url) throw new Error("WEB_API_URL is not set: run through playwright.config.ts");
  return url;
}

let users = 0;

/** Return a user name no other test uses, so every test starts with no threads. */
export function newUser(name: string): string {
  users += 1;
  return `${name}-${String(process.pid)}-${String(users)}-${String(Date.now())}`;
}

/** Open the page and sign `user` in with a development token. */
export async function signIn(page: Page, user: string, path = "/"): Promise<void> {
  await page.goto(new URL(path, pageUrl()).toString());
  await page.getByLabel("User").fill(user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("user")).toHaveText(user);
}

/** Type `text` into the message box and press Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message");
  await box.fill(text);
  await box.press("Enter");
}

/** Wait until no run streams into the open thread. */
export async function idle(page: Page, timeout = 30_000): Promise<void> {
  await expect(page.locator(".conversation")).toHaveAttribute("data-loading", "false", { timeout });
}

/** Wait until a run streams into the open thread. */
export async function busy(page: Page): Promise<void> {
  await expect(page.locator(".conversation")).toHaveAttribute("data-loading", "true");
}

/**
 * Start recording every text a selector's elements show, in order, from now on.
 *
 * A MutationObserver on the whole document keeps each new text of each matching
 * element (consecutive repeats once); `recorded` returns them.
 */
export async function record(page: Page, name: string, selector: string): Promise<void> {
  await page.evaluate(
    ({ name, selector }) => {
      const store = ((window as unknown as { __recorded?: Record<string, string[]> }).__recorded ??=
        {});
      const seen: string[] = (store[name] = []);
      const take = () => {
        for (const element of document.querySelectorAll(selector)) {
          const text = element.textContent;
          if (seen.at(-1) !== text) seen.push(text);
        }
      };
      new MutationObserver(take).observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    },
    { name, selector },
  );
}

/** Return what `record(page, name, …)` saw. */
export async function recorded(page: Page, name: string): Promise<string[]> {
  return page.evaluate(
    (name) => (window as unknown as { __recorded: Record<string, string[]> }).__recorded[name] ?? [],
    name,
  );
}

/** Call the deployment's API as the signed-in user (the token in the page's storage). */
export async function api<T>(page: Page, path: string): Promise<T> {
  return page.evaluate(
    async ({ base, path }) => {
      const session = JSON.parse(localStorage.getItem("lgchat:session") ?? "{}") as {
        token?: string;
      };
      const response = await fetch(`${base}${path}`, {
        headers: session.token ? { Authorization: `Bearer ${session.token}` } : {},
      });
      return (await response.json()) as T;
    },
    { base: apiUrl(), path },
  );
}

/** Return the open thread's id, from the address. */
export function openThread(page: Page): string {
  const id = new URL(page.url()).searchParams.get("thread");
  if (!id) throw new Error(`no thread is open at ${page.url()}`);
  return id;
}

/** The words "1 2 … n", as the offline model counts. */
export function counted(n: number): string {
  return Array.from({ length: n }, (_, index) => String(index + 1)).join(" ");
}
