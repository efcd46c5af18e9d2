import * as path from "node:path"
import { Result, SchemaAST, SchemaIssue } from "effect"
import { ConfigError } from "../domain/Errors.ts"
import { CLARITY_SUBFACTORS, EMPATHY_SUBFACTORS } from "../domain/Kpi.ts"
import { decodeRubric, type Subfactor } from "../domain/Rubric.ts"
import type { AgentConfig } from "../services/Settings.ts"
import { readYamlFile } from "./resolveSettings.ts"

const SETTING = "rubric.agent_config"

const problem = (file: string, where: string, message: string) =>
  new ConfigError({ setting: SETTING, message: `${SETTING}: ${file}: ${where}: ${message}` })

const levenshtein = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

const unknownKey = (key: string, known: ReadonlyArray<string>): string => {
  const [closest] = known.map((k) => [k, levenshtein(key, k)] as const).sort((x, y) => x[1] - y[1])
  if (closest !== undefined && closest[1] <= Math.max(2, Math.floor(key.length / 3))) {
    return `unknown key (did you mean ${closest[0]}?)`
  }
  return `unknown key (expected one of ${known.join(", ")})`
}

/** The path and a one-line description of the first problem in a decoding issue. */
const firstProblem = (issue: SchemaIssue.Issue, at: ReadonlyArray<PropertyKey> = []): { path: string; message: string } => {
  switch (issue._tag) {
    case "Pointer":
      return firstProblem(issue.issue, [...at, ...issue.path])
    case "Composite":
      return firstProblem(issue.issues[0], at)
    case "MissingKey":
      return { path: at.join("."), message: "missing" }
    case "UnexpectedKey": {
      const known = SchemaAST.isObjects(issue.ast) ? issue.ast.propertySignatures.map((p) => String(p.name)) : []
      return { path: at.join("."), message: unknownKey(String(at.at(-1)), known) }
    }
    default: {
      const text = SchemaIssue.makeFormatterStandardSchemaV1()(issue).issues[0]?.message ?? String(issue)
      return { path: at.join("."), message: text.charAt(0).toLowerCase() + text.slice(1) }
    }
  }
}

const weightsOf = <K extends string>(section: Readonly<Record<K, Subfactor>>, name: string, names: ReadonlyArray<K>, file: string): Record<K, number> => {
  const weights = Object.fromEntries(names.map((n) => [n, section[n].weight])) as Record<K, number>
  const sum = names.reduce((s, n) => s + weights[n], 0)
  if (Math.abs(sum - 1) > 1e-6) {
    throw problem(file, name, `the weights must sum to 1, they sum to ${Number(sum.toFixed(6))}`)
  }
  return weights
}

/**
 * Reads and decodes the KPI rubric. Throws a `ConfigError` whose one-line message names the
 * file and the path of the first problem (the caller turns it into exit code 2).
 */
export const loadAgentConfig = (file: string, cwd = process.cwd()): AgentConfig => {
  const decoded = decodeRubric(readYamlFile(path.resolve(cwd, file), SETTING, true), { reportInput: true })
  if (Result.isFailure(decoded)) {
    const first = firstProblem(decoded.failure.issue)
    throw problem(file, first.path === "" ? "(root)" : first.path, first.message)
  }
  const rubric = decoded.success
  return {
    weights: {
      empathy: weightsOf(rubric.empathy_subfactors, "empathy_subfactors", EMPATHY_SUBFACTORS, file),
      clarity: weightsOf(rubric.clarity_subfactors, "clarity_subfactors", CLARITY_SUBFACTORS, file)
    },
    rubric
  }
}
