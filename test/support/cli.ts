import { spawn, type ChildProcess } from "node:child_process"
import * as path from "node:path"
import { runCli as runCliInProcess } from "../../src/main.ts"

export const REPO = path.resolve(import.meta.dirname, "../..")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Environment for a CLI run: the parent's, less anything that would pick a provider or a config. */
export const cleanEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(CPA_|ANTHROPIC_|AICORE_|MONGODB_CONNECTION_STRING|LOG_LEVEL)/.test(k)) env[k] = v
  }
  return { ...env, ...extra }
}

/**
 * Runs the CLI in this process (`cli()` from src/main.ts) with its own environment and output
 * collectors: the same command tree, settings, stores and exit codes as `node src/main.ts`,
 * without a child's start-up. Tests that need a real process (signals, SIGKILL, a lease held by
 * a live process, secrets in a process's output) use `startCli`/`runCliChild` instead.
 */
export const runCli = async (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string> } = {}
): Promise<CliResult> => {
  let stdout = ""
  let stderr = ""
  const code = await runCliInProcess(args, {
    env: options.env ?? cleanEnv(),
    output: { out: (t) => void (stdout += t), err: (t) => void (stderr += t) }
  })
  return { code, signal: null, stdout, stderr }
}

// ---------------------------------------------------------------------------------------------
// The CLI as a child process: for signals, SIGKILL, leases held by a live process

export interface Child {
  readonly pid: number
  readonly process: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves when the child has exited, with its output and how long it ran. */
  readonly exited: Promise<CliResult & { readonly ms: number; readonly endedAt: number }>
  /** Resolves once `pattern` matches stderr or stdout; rejects if the child exits first or after `timeoutMs`. */
  readonly waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpExecArray>
  readonly signal: (signal: NodeJS.Signals) => void
}

/**
 * Starts `node bin/cpa ...args`, the launcher a user runs (the version check, Node's compile
 * cache, then src/main.ts); killed with SIGKILL after `timeoutMs` if still running.
 */
export const startCli = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}
): Child => {
  const started = Date.now()
  const child = spawn(process.execPath, [path.join(REPO, "bin/cpa"), ...args], {
    cwd: REPO,
    env: options.env ?? cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  const watchers = new Set<() => void>()
  const notify = () => {
    for (const w of watchers) w()
  }
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    stdout += d
    notify()
  })
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d
    notify()
  })
  const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000)
  let done = false
  const exited = new Promise<CliResult & { ms: number; endedAt: number }>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(killer)
      done = true
      notify()
      const endedAt = Date.now()
      resolve({ code, signal, stdout, stderr, ms: endedAt - started, endedAt })
    })
  })
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(stderr) ?? pattern.exec(stdout)
        if (m !== null) finish(() => resolve(m))
        else if (done) finish(() => reject(new Error(`child exited before ${pattern} appeared; stderr:\n${stderr}\nstdout:\n${stdout}`)))
      }
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${pattern} did not appear within ${timeoutMs} ms; stderr:\n${stderr}`))),
        timeoutMs
      )
      const finish = (f: () => void) => {
        clearTimeout(timer)
        watchers.delete(check)
        f()
      }
      watchers.add(check)
      check()
    })
  return {
    pid: child.pid!,
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor,
    signal: (s) => {
      if (!done) child.kill(s)
    }
  }
}

export const runCliE2e = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}) =>
  startCli(args, options).exited

/** Runs `node bin/cpa ...args` as a child process to its end. */
export const runCliChild = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}) =>
  startCli(args, options).exited
