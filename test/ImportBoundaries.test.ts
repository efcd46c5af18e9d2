import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The layering of `src/`, checked on every import:
 * - `domain/` is pure: only `effect` and other domain modules;
 * - `services/` (the ports): `effect`, domain and other ports;
 * - adapters (`store/`, `analyzer/`, `ops/`, `config/`, `report/`) never import a program or `main.ts`;
 * - `programs/` import only `effect`, domain, ports and other programs: no adapter, no driver,
 *   no SDK, no file system.
 */
const SRC = path.resolve(import.meta.dirname, "../src")

type Layer = "domain" | "services" | "adapter" | "programs" | "main"

const layerOf = (file: string): Layer => {
  const top = path.relative(SRC, file).split(path.sep)[0]!
  if (top === "domain" || top === "services" || top === "programs") return top
  if (top === "main.ts") return "main"
  if (["store", "analyzer", "ops", "config", "report"].includes(top)) return "adapter"
  throw new Error(`${file}: not in a known layer; add its folder to the import-boundary test`)
}

const isEffect = (spec: string) => spec === "effect" || spec.startsWith("effect/")

/** Why `spec`, imported by `file`, breaks the layering; undefined when it is allowed. */
export const violation = (file: string, spec: string): string | undefined => {
  const from = layerOf(file)
  if (from === "main") return undefined
  if (!spec.startsWith(".")) {
    if (from === "adapter") return undefined
    if (isEffect(spec)) return undefined
    return `${from} imports the package ${spec}`
  }
  const to = layerOf(path.resolve(path.dirname(file), spec))
  const allowed: Record<Exclude<Layer, "main">, ReadonlyArray<Layer>> = {
    domain: ["domain"],
    services: ["domain", "services"],
    adapter: ["domain", "services", "adapter"],
    programs: ["domain", "services", "programs"]
  }
  return allowed[from].includes(to) ? undefined : `${from} imports ${to} (${spec})`
}

/** Every module specifier in a source text: static imports, re-exports and dynamic imports. */
export const specifiers = (source: string): Array<string> =>
  [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)]
    .map((m) => m[1] ?? m[2] ?? m[3]!)

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  )

describe("import boundaries", () => {
  it("every import in src/ respects the layering", () => {
    const problems = walk(SRC).flatMap((file) =>
      specifiers(fs.readFileSync(file, "utf8")).flatMap((spec) => {
        const why = violation(file, spec)
        return why === undefined ? [] : [`${path.relative(SRC, file)}: ${why}`]
      })
    )
    expect(problems).toEqual([])
  })

  it("finds the imports of a module, whatever their form", () => {
    const source = [
      "import { a } from \"./a.ts\"",
      "import type { B } from '../b.ts'",
      "import * as fs from \"node:fs\"",
      "export { c } from \"./c.ts\"",
      "import \"./side-effect.ts\"",
      "const m = await import(\"mongodb\")",
      "import {\n  d,\n  e\n} from \"./de.ts\""
    ].join("\n")
    expect(specifiers(source)).toEqual(["./a.ts", "../b.ts", "node:fs", "./c.ts", "./side-effect.ts", "./de.ts", "mongodb"].sort((x, y) =>
      source.indexOf(x) - source.indexOf(y)
    ))
  })

  it("rejects each forbidden import", () => {
    const f = (rel: string) => path.join(SRC, rel)
    expect(violation(f("domain/Kpi.ts"), "../services/Settings.ts")).toBeDefined()
    expect(violation(f("domain/Kpi.ts"), "node:fs")).toBeDefined()
    expect(violation(f("services/Analyzer.ts"), "../store/mongo/MongoClient.ts")).toBeDefined()
    expect(violation(f("store/mongo/MongoClient.ts"), "../../programs/Batch.ts")).toBeDefined()
    expect(violation(f("ops/HealthServer.ts"), "../main.ts")).toBeDefined()
    expect(violation(f("programs/Batch.ts"), "../store/memory/MemoryConversationStore.ts")).toBeDefined()
    expect(violation(f("programs/Batch.ts"), "../analyzer/claude/Request.ts")).toBeDefined()
    expect(violation(f("programs/Batch.ts"), "mongodb")).toBeDefined()
    expect(violation(f("programs/Batch.ts"), "@anthropic-ai/sdk")).toBeDefined()
    expect(violation(f("programs/Batch.ts"), "node:fs")).toBeDefined()
    expect(violation(f("programs/Report.ts"), "echarts")).toBeDefined()
    expect(violation(f("programs/Report.ts"), "../report/html/HtmlReport.ts")).toBeDefined()
    expect(violation(f("report/html/Charts.ts"), "../../programs/Report.ts")).toBeDefined()
  })

  it("allows what the layering allows", () => {
    const f = (rel: string) => path.join(SRC, rel)
    expect(violation(f("programs/Batch.ts"), "../services/Analyzer.ts")).toBeUndefined()
    expect(violation(f("programs/Batch.ts"), "effect")).toBeUndefined()
    expect(violation(f("store/mongo/MongoClient.ts"), "mongodb")).toBeUndefined()
    expect(violation(f("analyzer/claude/AiCoreAnalyzer.ts"), "../../services/Settings.ts")).toBeUndefined()
    expect(violation(f("main.ts"), "./store/mongo/MongoClient.ts")).toBeUndefined()
    expect(violation(f("report/html/Charts.ts"), "echarts")).toBeUndefined()
    expect(violation(f("report/html/HtmlReport.ts"), "../../services/ReportHtml.ts")).toBeUndefined()
  })
})
