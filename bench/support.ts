import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer, References, Result } from "effect"
import { type AgentConfig, type JobSettings, Settings } from "../src/services/Settings.ts"
import { loadAgentConfig } from "../src/config/Rubric.ts"
import { decodeConversation } from "../src/domain/Source.ts"
import { loadSourceFile } from "../src/store/memory/Samples.ts"
import { type Env, type FlagValues, resolveSettings } from "../src/config/resolveSettings.ts"

export const REPO_ROOT = path.resolve(import.meta.dirname, "..")

/** The valid sample conversations, to be cycled: realistic text and sizes for the analyzers. */
export const sampleDocs = (): ReadonlyArray<Record<string, unknown>> => {
  const valid = loadSourceFile(path.join(REPO_ROOT, "samples/sentiment_analysis.json"))
    .filter((r) => Effect.runSync(Effect.result(decodeConversation(r)))._tag === "Success")
  return valid.map((r) => r.doc as Record<string, unknown>)
}

/**
 * The settings of a run as the CLI resolves them: the repository's YAML, the environment
 * (none unless given), the given flags on top.
 */
export const benchSettings = (flags: FlagValues, env: Env = {}): {
  readonly settings: JobSettings
  readonly agent: AgentConfig
  readonly layer: Layer.Layer<Settings>
} => {
  const settings = Result.getOrThrow(resolveSettings(flags, env, REPO_ROOT))
  const agent = Result.getOrThrow(loadAgentConfig(settings.agentConfigPath, REPO_ROOT))
  return { settings, agent, layer: Settings.layerValue(settings, agent) }
}

/** The job logs one info line per batch; the tables are easier to read without them. */
export const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, References.MinimumLogLevel, "Warn")

/** Runs `f` and returns its result with the wall time in seconds. */
export const timed = async <A>(f: () => Promise<A>): Promise<{ readonly value: A; readonly seconds: number }> => {
  const start = performance.now()
  const value = await f()
  return { value, seconds: (performance.now() - start) / 1000 }
}

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Latencies per operation name, for the time split of a run. */
export class OpTimes {
  readonly ops = new Map<string, Array<number>>()

  add(op: string, ms: number): void {
    let list = this.ops.get(op)
    if (list === undefined) {
      list = []
      this.ops.set(op, list)
    }
    list.push(ms)
  }

  /** Wraps an Effect so its latency is recorded under `op`. */
  effect<A, E, R>(op: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      const start = performance.now()
      return Effect.ensuring(effect, Effect.sync(() => this.add(op, performance.now() - start)))
    })
  }

  async promise<A>(op: string, f: () => Promise<A>): Promise<A> {
    const start = performance.now()
    try {
      return await f()
    } finally {
      this.add(op, performance.now() - start)
    }
  }

  /** Per operation: calls, mean and p95 latency (ms), summed latency (s), per record (ms). */
  summary(records: number): Array<OpSummary> {
    return [...this.ops].map(([op, list]) => {
      const sorted = [...list].sort((a, b) => a - b)
      const total = list.reduce((a, b) => a + b, 0)
      return {
        op,
        calls: list.length,
        mean_ms: round(total / list.length, 3),
        p95_ms: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0, 3),
        total_s: round(total / 1000, 3),
        per_record_ms: round(total / Math.max(1, records), 3)
      }
    }).sort((a, b) => b.total_s - a.total_s)
  }
}

export interface OpSummary {
  readonly op: string
  readonly calls: number
  readonly mean_ms: number
  readonly p95_ms: number
  readonly total_s: number
  readonly per_record_ms: number
}

const sh = (cmd: string, args: ReadonlyArray<string>): string => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "unavailable"
  }
}

export interface MachineInfo {
  readonly summary: string
  readonly nproc: string
  readonly cpu_model: string
  readonly memory: string
  readonly free_h: string
  readonly node: string
  readonly kernel: string
  readonly loadavg_start: ReadonlyArray<number>
}

export const machineInfo = (): MachineInfo => {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : ""
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown"
  const nproc = sh("nproc", [])
  const memory = `${round(os.totalmem() / 2 ** 30, 1)} GiB`
  return {
    summary: `${nproc} vCPU (${cpu}), ${memory} RAM, Node ${process.version}, Linux ${os.release()}`,
    nproc,
    cpu_model: cpu,
    memory,
    free_h: sh("free", ["-h"]),
    node: process.version,
    kernel: os.release(),
    loadavg_start: os.loadavg().map((x) => round(x, 2))
  }
}

let ticksPerSecond: number | undefined
const clockTicks = (): number => (ticksPerSecond ??= Number(sh("getconf", ["CLK_TCK"])) || 100)

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined when unreadable. */
export const processCpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after the command name, which is in parentheses and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    return ticks / clockTicks()
  } catch {
    return undefined
  }
}

/** The pid of the process whose command line contains `needle` (e.g. FerretDB's data dir). */
export const findPid = (needle: string): number | undefined => {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ")
      if (cmdline.includes(needle)) return Number(entry)
    } catch {
      // gone meanwhile
    }
  }
  return undefined
}

/** A plain-text table with right-aligned numbers. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? c.toLocaleString("en-US", { maximumFractionDigits: 3 }) : c)))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)))
  const numeric = headers.map((_, i) => rows.some((r) => typeof r[i] === "number"))
  const line = (r: ReadonlyArray<string | number>) =>
    r.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join("  ")
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n")
}

export const log = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

/** The Node flags every launcher of the CLI passes (bin/cpa, package.json, Dockerfile, deploy/cpa.service; a test keeps them equal): the bench's CLI children run with them too. */
export const CLI_NODE_FLAGS: ReadonlyArray<string> = ["--max-old-space-size=512"]
