/**
 * CPU profile of the in-memory overhead run (instant analyzer, batch 1000, concurrency 8):
 * where the time per record goes. `node bench/profile.ts [records]`; prints the functions
 * with the most self time and the split by area; `--save FILE` keeps the .cpuprofile for
 * Chrome DevTools.
 */
import * as fs from "node:fs"
import { Session } from "node:inspector/promises"
import { runMemoryOverhead } from "./overhead.ts"
import { REPO_ROOT, round, table } from "./support.ts"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const area = (url: string, name: string): string => {
  if (name === "(garbage collector)") return "garbage collector"
  if (name === "(idle)" || name === "(program)" || name === "(root)") return name
  if (url.includes("/node_modules/effect/")) return "effect runtime"
  if (url.includes("/src/")) return "cpa src/"
  if (url.includes("/bench/") || url.includes("/test/")) return "bench harness"
  if (url.startsWith("node:") || url === "") return "node / V8 builtins"
  return "other"
}

const shortUrl = (url: string): string =>
  url.replace(`file://${REPO_ROOT}/`, "").replace(/^node_modules\/effect\/dist\//, "effect/")

const args = process.argv.slice(2)
const records = Number(args.find((a) => /^\d+$/.test(a)) ?? 20_000)
const saveAt = args.indexOf("--save")

// one warm-up run so the profile shows steady state, not JIT compilation
await runMemoryOverhead({ records: 2_000, batchSize: 1000, concurrency: 8 })

const session = new Session()
session.connect()
await session.post("Profiler.enable")
await session.post("Profiler.setSamplingInterval", { interval: 100 })
await session.post("Profiler.start")
const run = await runMemoryOverhead({ records, batchSize: 1000, concurrency: 8 })
const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile }
session.disconnect()
if (saveAt >= 0 && args[saveAt + 1] !== undefined) fs.writeFileSync(args[saveAt + 1]!, JSON.stringify(profile))

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const byFunction = new Map<string, number>()
const byArea = new Map<string, number>()
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame
  const key = `${f.functionName || "(anonymous)"}  ${shortUrl(f.url)}:${f.lineNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + us)
  const a = area(f.url, f.functionName)
  byArea.set(a, (byArea.get(a) ?? 0) + us)
}

const pct = (us: number) => round(us / total * 100, 1)
process.stdout.write(
  `${run.records} records in ${run.seconds} s: ${run.us_per_record} µs per record (profiler on)\n\n` +
    table(["area", "self %", "µs per record"], [...byArea].sort((a, b) => b[1] - a[1]).map(([a, us]) => [a, pct(us), round(us / run.records, 1)])) +
    "\n\n" +
    table(
      ["function (self time)", "self %"],
      [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([f, us]) => [f, pct(us)])
    ) +
    "\n"
)
