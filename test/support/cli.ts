import { spawn } from "node:child_process"
import * as path from "node:path"

export const REPO = path.resolve(import.meta.dirname, "../..")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Environment for a child CLI: the parent's, less anything that would pick a provider or a config. */
export const cleanEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(CPA_|ANTHROPIC_|AICORE_|MONGODB_CONNECTION_STRING|LOG_LEVEL)/.test(k)) env[k] = v
  }
  return { ...env, ...extra }
}

/** Runs `node src/main.ts ...args` as a child process and collects its output. */
export const runCli = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly timeoutMs?: number; readonly onStart?: (pid: number) => void } = {}
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, "src/main.ts"), ...args], {
      cwd: REPO,
      env: options.env ?? cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
    child.on("error", reject)
    if (child.pid !== undefined) options.onStart?.(child.pid)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
