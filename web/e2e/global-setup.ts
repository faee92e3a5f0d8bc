/**
 * Start the page, `langgraph dev` (or Aegra, with `WEB_ENGINE=aegra`; auth on) and the
 * scripted OpenAI server with `python -m devtools.web --scripted`, and stop them all
 * after the run.
 *
 * The launcher writes a ready file with the URLs once everything answers; the tests
 * read them from the environment this setup exports. When `WEB_PAGE_URL` and
 * `WEB_API_URL` are already set (`python -m bench web` runs its own stack), the tests
 * use that stack: nothing is started, and the teardown does nothing.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PROJECT = resolve(import.meta.dirname, "..", "..");
const STARTUP_MS = 90_000;

interface Ready {
  pageUrl: string;
  apiUrl: string;
  openaiUrl: string | null;
}

function python(): string {
  const venv = join(PROJECT, ".venv", "bin", "python");
  if (!existsSync(venv)) throw new Error("no .venv: run 'make install' in the project first");
  return venv;
}

async function waitForReady(file: string, exited: () => string | null): Promise<Ready> {
  const deadline = Date.now() + STARTUP_MS;
  while (Date.now() < deadline) {
    const failure = exited();
    if (failure) throw new Error(failure);
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as Ready;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`devtools.web was not ready within ${STARTUP_MS / 1000} s`);
}

/** Start the stack, unless one is given; return the teardown that stops it (SIGINT to its group). */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.WEB_PAGE_URL && process.env.WEB_API_URL) return () => Promise.resolve();
  const scratch = mkdtempSync(join(tmpdir(), "lgchat-web-e2e-"));
  const readyFile = join(scratch, "ready.json");
  // The offline model's own pace (what `make web` shows): a word or an argument
  // fragment every 20 ms.
  const delay = process.env.WEB_E2E_DELAY ?? "0.02";
  // WEB_ENGINE=aegra (make test-web-prod) puts Aegra behind the page instead.
  const engine = process.env.WEB_ENGINE ?? "dev";
  const child = spawn(
    python(),
    [
      ...["-m", "devtools.web", "--engine", engine, "--scripted", "--delay", delay],
      ...["--port", "0", "--ready-file", readyFile],
    ],
    { cwd: PROJECT, detached: true, stdio: ["ignore", "ignore", "inherit"] },
  );
  let exitLine: string | null = null;
  child.on("exit", (code, signal) => {
    exitLine = `devtools.web exited early (${signal ?? `code ${String(code)}`})`;
  });
  const ready = await waitForReady(readyFile, () => exitLine);
  process.env.WEB_PAGE_URL = ready.pageUrl;
  process.env.WEB_API_URL = ready.apiUrl;
  process.env.WEB_E2E_DELAY = delay; // the tests that report figures say what the pace was

  return async () => {
    const pid = child.pid;
    if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const stopped = new Promise((done) => child.once("exit", done));
      process.kill(-pid, "SIGINT");
      const timer = setTimeout(() => {
        process.kill(-pid, "SIGKILL");
      }, 20_000);
      await stopped;
      clearTimeout(timer);
    }
    rmSync(scratch, { recursive: true, force: true });
  };
}
