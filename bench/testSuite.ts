/**
 * Section `tests`: the test suite's wall time against the suite of a baseline commit, in one
 * sitting (issue 11 asks for at most half the time of the suite it was filed against, 377f650).
 * Each round runs the baseline's suite, then this tree's, alternating so that whatever else
 * the machine does falls on both. Both are `vitest run` with REQUIRE_MONGO=1 and CI=true, as
 * `.ci/run` runs it, each starting its own FerretDB through its own globalSetup; the baseline
 * is extracted with `git archive` into a temporary directory and shares this tree's
 * node_modules (its dependencies are a subset of today's).
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { log, REPO_ROOT, round } from "./support.ts"

export interface SuiteRun {
  readonly tree: "baseline" | "current"
  readonly round: number
  readonly wall_seconds: number
  /** User + system CPU of the run and its children, from /usr/bin/time; undefined without it. */
  readonly cpu_seconds: number | undefined
  readonly passed: number | undefined
  readonly failed: number | undefined
  readonly exit_code: number | null
}

/** The last "Tests  N failed | M passed (T)" line of a vitest run (ANSI colours stripped). */
export const parseCounts = (output: string): { readonly passed: number | undefined; readonly failed: number | undefined } => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "")
  const line = plain.split("\n").filter((l) => /^\s*Tests\s/.test(l)).at(-1)
  if (line === undefined) return { passed: undefined, failed: undefined }
  const count = (word: string) => {
    const m = new RegExp(`(\\d+) ${word}`).exec(line)
    return m === null ? 0 : Number(m[1])
  }
  return { passed: count("passed"), failed: count("failed") }
}

const hasGnuTime = fs.existsSync("/usr/bin/time")

const runSuite = (cwd: string, tree: SuiteRun["tree"], roundNo: number): Promise<SuiteRun> =>
  new Promise((resolve, reject) => {
    const timeFile = path.join(os.tmpdir(), `cpa-bench-suite-${process.pid}-${tree}-${roundNo}.txt`)
    const vitest = [process.execPath, path.join(cwd, "node_modules/vitest/vitest.mjs"), "run"]
    const [command, ...args] = hasGnuTime ? ["/usr/bin/time", "-o", timeFile, "-f", "%U %S", ...vitest] : vitest
    const started = performance.now()
    const child = spawn(command!, args, { cwd, env: { ...process.env, REQUIRE_MONGO: "1", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => void (output += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => void (output += d))
    child.on("error", reject)
    child.on("close", (code) => {
      const wall = round((performance.now() - started) / 1000, 1)
      let cpu: number | undefined
      if (hasGnuTime && fs.existsSync(timeFile)) {
        const [user, system] = fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number)
        cpu = user !== undefined && system !== undefined && Number.isFinite(user + system) ? round(user + system, 1) : undefined
        fs.rmSync(timeFile, { force: true })
      }
      resolve({ tree, round: roundNo, wall_seconds: wall, cpu_seconds: cpu, ...parseCounts(output), exit_code: code })
    })
  })

/** `git archive <commit>` unpacked into a temporary directory, with this tree's node_modules linked in. */
const extract = (commit: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cpa-bench-baseline-${commit}-`))
  const archive = execFileSync("git", ["archive", "--format=tar", commit], { cwd: REPO_ROOT, maxBuffer: 1 << 30 })
  execFileSync("tar", ["-x", "-C", dir], { input: archive })
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"))
  return dir
}

export const compareSuites = async (options: { readonly baseline: string; readonly rounds: number; readonly onRun?: (run: SuiteRun) => void }) => {
  const baselineDir = extract(options.baseline)
  const runs: Array<SuiteRun> = []
  try {
    for (let i = 1; i <= options.rounds; i++) {
      for (const [tree, cwd] of [["baseline", baselineDir], ["current", REPO_ROOT]] as const) {
        log(`tests: round ${i}/${options.rounds}, the ${tree === "baseline" ? `suite of ${options.baseline}` : "suite of this tree"}`)
        const run = await runSuite(cwd, tree, i)
        log(`tests: ${tree} ${run.wall_seconds} s wall, ${run.cpu_seconds ?? "?"} s CPU, ${run.passed ?? "?"} passed, ${run.failed ?? "?"} failed`)
        runs.push(run)
        options.onRun?.(run)
      }
    }
  } finally {
    fs.rmSync(baselineDir, { recursive: true, force: true })
  }
  return runs
}
