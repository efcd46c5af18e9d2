/**
 * A real MongoDB-wire server for the integration tests.
 *
 * `acquireTestMongo()` looks, in this order, for:
 *   1. `MONGODB_TEST_URI` (an existing server; it must answer `ping`; never stopped by us);
 *   2. a `mongod` binary on PATH (started on a free loopback port with a temp `--dbpath`);
 *   3. FerretDB v1.24.2 with its SQLite backend, built from `tools/ferretdb` by
 *      `tools/ferretdb/build.sh` (cold build ~2 min, cached outside the repo afterwards) and
 *      started on a free loopback port with a fresh temp data dir.
 * A `mongod` that is on PATH but fails to start falls through to FerretDB; an unreachable
 * `MONGODB_TEST_URI` does not (the caller asked for that server).
 *
 * `startFerretDb()` starts FerretDB directly and can SIGKILL and restart it on the same port and
 * data dir, for fault-injection tests.
 *
 * Environment:
 *   MONGODB_TEST_URI   use this server instead of starting one
 *   CPA_FERRETDB_BIN   use this FerretDB binary instead of running tools/ferretdb/build.sh
 *   CPA_CACHE_DIR      where build.sh caches the binary (default ~/.cache/cpa)
 *   CPA_MONGO_LOG=1    copy the server's stdout/stderr to this process's stderr
 *
 * Every child is started so it cannot outlive this process: FerretDB gets `-exit-with-parent`,
 * and an `exit` hook SIGKILLs whatever is still running and removes temp dirs we created.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";

/**
 * FerretDB's environment: Go's garbage collector at GOGC=400 instead of 100. FerretDB decodes
 * every document a filter scans (only an `_id` equality is looked up by index), and at the
 * default its collector took ~40 % of its CPU; at 400 the MongoCli drain test costs FerretDB
 * 12 s of CPU instead of 20 s, for ~55 MB of memory instead of ~35 MB. A GOGC set by the caller wins.
 */
const FERRETDB_ENV: NodeJS.ProcessEnv = { ...process.env, GOGC: process.env["GOGC"] ?? "400" };

export type TestMongoKind = "env" | "mongod" | "ferretdb";

export interface TestMongo {
  /** e.g. `mongodb://127.0.0.1:40123/` */
  readonly uri: string;
  readonly kind: TestMongoKind;
  /** Stops the server we started (SIGTERM, SIGKILL after 5 s) and removes its temp dir; no-op for "env". */
  readonly stop: () => Promise<void>;
}

export interface TestMongoUnavailable {
  /** Why no server could be had, with the exact errors. */
  readonly unavailable: string;
}

export interface FerretDbServer {
  /** `mongodb://127.0.0.1:PORT/`; stays the same across restart(). */
  readonly uri: string;
  readonly port: number;
  readonly dataDir: string;
  /** SIGTERM, wait for exit (SIGKILL after 5 s); removes dataDir only if startFerretDb created it. */
  readonly stop: () => Promise<void>;
  /** SIGKILL now (a crash); the data dir stays. Call restart() to bring it back. */
  readonly kill: () => void;
  /** Waits for the previous process to be gone (stopping it if still running), then starts again on the same port and data dir and waits for `ping`. */
  readonly restart: () => Promise<void>;
  /** The last ~16 KiB of the server's stdout/stderr (all processes so far). */
  readonly logs: () => string;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILD_SCRIPT = join(REPO_ROOT, "tools", "ferretdb", "build.sh");

const BUILD_TIMEOUT_MS = 5 * 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_CHARS = 16_384;

// ---------------------------------------------------------------------------------------------
// acquireTestMongo

export async function acquireTestMongo(): Promise<TestMongo | TestMongoUnavailable> {
  const envUri = process.env["MONGODB_TEST_URI"];
  if (envUri !== undefined && envUri !== "") {
    try {
      await waitForPing(envUri, 10_000, () => undefined);
      return { uri: envUri, kind: "env", stop: async () => {} };
    } catch (error) {
      return { unavailable: `MONGODB_TEST_URI=${redactUri(envUri)} does not answer ping: ${errorText(error)}` };
    }
  }

  const reasons: string[] = [];

  const mongod = findOnPath("mongod");
  if (mongod === undefined) {
    reasons.push("no `mongod` on PATH");
  } else {
    try {
      return await startMongod(mongod);
    } catch (error) {
      reasons.push(`mongod (${mongod}) failed: ${errorText(error)}`);
    }
  }

  try {
    const server = await startFerretDb();
    return { uri: server.uri, kind: "ferretdb", stop: server.stop };
  } catch (error) {
    reasons.push(`FerretDB failed: ${errorText(error)}`);
  }

  return { unavailable: reasons.join("\n") };
}

// ---------------------------------------------------------------------------------------------
// FerretDB

let ferretBinary: Promise<string> | undefined;

/** Path of the FerretDB binary: CPA_FERRETDB_BIN, or the one tools/ferretdb/build.sh builds (memoized). */
export function ferretDbBinary(): Promise<string> {
  const fromEnv = process.env["CPA_FERRETDB_BIN"];
  if (fromEnv !== undefined && fromEnv !== "") return Promise.resolve(fromEnv);
  ferretBinary ??= buildFerretDb().catch((error: unknown) => {
    ferretBinary = undefined; // let a later call try again
    throw error;
  });
  return ferretBinary;
}

function buildFerretDb(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [BUILD_SCRIPT],
      { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) {
          const how = error.killed ? `timed out after ${BUILD_TIMEOUT_MS / 1000} s` : `exit code ${String(error.code)}`;
          reject(new Error(`bash ${BUILD_SCRIPT} failed (${how}):\n${tail(stderr, 4000).trim()}`));
          return;
        }
        const lines = stdout.trim().split("\n");
        const path = lines[lines.length - 1]?.trim() ?? "";
        if (path === "" || !existsSync(path)) {
          reject(new Error(`bash ${BUILD_SCRIPT} printed no binary path (stdout: ${JSON.stringify(stdout)}; stderr: ${tail(stderr, 2000)})`));
          return;
        }
        resolve(path);
      },
    );
  });
}

/**
 * Starts FerretDB (SQLite backend) on 127.0.0.1. Without `port` the server picks a free one
 * (`-listen 127.0.0.1:0`, no race); restart() reuses whichever port it got. Without `dataDir`
 * a fresh temp dir is created, and removed by stop().
 */
export async function startFerretDb(dataDir?: string, port?: number): Promise<FerretDbServer> {
  const binary = await ferretDbBinary();
  const ownsDir = dataDir === undefined;
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "cpa-ferretdb-")));
  if (ownsDir) tempDirs.add(dir);
  else await mkdir(dir, { recursive: true });

  const log = new LogTail();
  let current: Managed | undefined;
  let boundPort = port ?? 0;

  const launch = async (): Promise<void> => {
    const listenLine = Promise.withResolvers<number>();
    const managed = spawnManaged(
      binary,
      ["-listen", `127.0.0.1:${boundPort}`, "-data", dir, "-log-level", "warn", "-exit-with-parent"],
      log,
      (line) => {
        const match = /^ferretdb listening on .*:(\d+)$/.exec(line.trim());
        if (match?.[1] !== undefined) listenLine.resolve(Number(match[1]));
      },
      FERRETDB_ENV,
    );
    current = managed;
    // The process may die before it prints (port in use, bad data dir): fail with its stderr.
    void managed.exited.then((code) => {
      const output = typeof code === "string" && code.startsWith("spawn error") ? "" : log.text().trim();
      listenLine.reject(new Error(`FerretDB (${binary}) exited with ${code} before listening${output === "" ? "" : `; output:\n${output}`}`));
    });
    try {
      boundPort = await withTimeout(listenLine.promise, READY_TIMEOUT_MS, "FerretDB did not print its listening line");
      await waitForPing(uriFor(boundPort), READY_TIMEOUT_MS, () => managed.exitCode());
    } catch (error) {
      await managed.terminate();
      throw error;
    }
  };

  try {
    await launch();
  } catch (error) {
    if (ownsDir) await removeDir(dir);
    throw error;
  }

  return {
    uri: uriFor(boundPort),
    port: boundPort,
    dataDir: dir,
    stop: async () => {
      await current?.terminate();
      if (ownsDir) await removeDir(dir);
    },
    kill: () => current?.kill(),
    restart: async () => {
      await current?.terminate(); // waits for exit; a no-op beyond that after kill()
      await launch();
    },
    logs: () => log.text(),
  };
}

// ---------------------------------------------------------------------------------------------
// mongod

async function startMongod(binary: string): Promise<TestMongo> {
  const dir = await mkdtemp(join(tmpdir(), "cpa-mongod-"));
  tempDirs.add(dir);
  const log = new LogTail();
  let managed: Managed | undefined;
  try {
    const port = await freePort();
    managed = spawnManaged(binary, ["--dbpath", dir, "--port", String(port), "--bind_ip", "127.0.0.1", "--quiet"], log);
    const started = managed;
    const uri = uriFor(port);
    await waitForPing(uri, READY_TIMEOUT_MS, () => started.exitCode()).catch((error: unknown) => {
      throw new Error(`${errorText(error)}\nmongod output:\n${log.text().trim()}`);
    });
    return {
      uri,
      kind: "mongod",
      stop: async () => {
        await started.terminate();
        await removeDir(dir);
      },
    };
  } catch (error) {
    await managed?.terminate();
    await removeDir(dir);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// child processes

interface Managed {
  readonly exited: Promise<number | string>;
  readonly exitCode: () => number | string | undefined;
  readonly kill: () => void;
  /** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process is gone. */
  readonly terminate: () => Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();

process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function spawnManaged(
  binary: string,
  args: readonly string[],
  log: LogTail,
  onStdoutLine?: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Managed {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env });
  liveChildren.add(child);
  const echo = process.env["CPA_MONGO_LOG"] === "1";

  let code: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once("error", (error) => {
      log.add(`spawn ${binary} failed: ${error.message}\n`);
      if (child.pid === undefined) {
        code = `spawn error: ${error.message}`;
        liveChildren.delete(child);
        resolve(code);
      }
    });
    child.once("exit", (exitCode, signal) => {
      code = exitCode ?? signal ?? "unknown";
      liveChildren.delete(child);
      resolve(code);
    });
  });

  let partial = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    log.add(chunk);
    if (echo) process.stderr.write(chunk);
    if (onStdoutLine === undefined) return;
    partial += chunk;
    let newline = partial.indexOf("\n");
    while (newline >= 0) {
      onStdoutLine(partial.slice(0, newline));
      partial = partial.slice(newline + 1);
      newline = partial.indexOf("\n");
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    log.add(chunk);
    if (echo) process.stderr.write(chunk);
  });

  const running = (): boolean => code === undefined;

  return {
    exited,
    exitCode: () => code,
    kill: () => {
      if (running()) child.kill("SIGKILL");
    },
    terminate: async () => {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

class LogTail {
  #text = "";
  add(chunk: string): void {
    this.#text = tail(this.#text + chunk, LOG_TAIL_CHARS);
  }
  text(): string {
    return this.#text;
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

function uriFor(port: number): string {
  return `mongodb://127.0.0.1:${port}/`;
}

/** Retries `ping` until it succeeds, the deadline passes, or `exitCode()` says the server died. */
async function waitForPing(uri: string, timeoutMs: number, exitCode: () => number | string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const code = exitCode();
    if (code !== undefined) throw new Error(`server exited (${code}) before answering ping`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: Math.min(2_000, remaining),
      connectTimeoutMS: 2_000,
    });
    try {
      await client.db("admin").command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.close().catch(() => undefined);
    }
    await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
  }
  throw new Error(`no ping answer from ${redactUri(uri)} within ${timeoutMs / 1000} s: ${errorText(lastError)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error("no port from listen(0)")) : resolve(port)));
    });
  });
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : text.slice(text.length - max);
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name !== "Error" ? `${error.name}: ` : "";
    return `${name}${error.message}`;
  }
  return String(error);
}

function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, "//***@");
}
