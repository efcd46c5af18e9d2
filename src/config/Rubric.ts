import * as path from "node:path"
import { Result, SchemaAST, SchemaIssue } from "effect"
import { ConfigError } from "../domain/Errors.ts"
import { CLARITY_SUBFACTORS, EMPATHY_SUBFACTORS } from "../domain/Kpi.ts"
import { decodeRubric, type Subfactor } from "../domain/Rubric.ts"
import type { AgentConfig } from "../services/Settings.ts"
import { closest } from "./closest.ts"
import { readYamlFile } from "./resolveSettings.ts"

const SETTING = "rubric.agent_config"

const problem = (file: string, where: string, message: string) =>
  new ConfigError({ setting: SETTING, message: `${SETTING}: ${file}: ${where}: ${message}` })

const unknownKey = (key: string, known: ReadonlyArray<string>): string => {
  const suggestion = closest(key, known)
  if (suggestion !== undefined) return `unknown key (did you mean ${suggestion}?)`
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

const weightsOf = <K extends string>(
  section: Readonly<Record<K, Subfactor>>,
  name: string,
  names: ReadonlyArray<K>,
  file: string
): Result.Result<Record<K, number>, ConfigError> => {
  const weights = Object.fromEntries(names.map((n) => [n, section[n].weight])) as Record<K, number>
  const sum = names.reduce((s, n) => s + weights[n], 0)
  return Math.abs(sum - 1) > 1e-6
    ? Result.fail(problem(file, name, `the weights must sum to 1, they sum to ${Number(sum.toFixed(6))}`))
    : Result.succeed(weights)
}

/**
 * Reads and decodes the KPI rubric. A failure is a `ConfigError` whose one-line message names
 * the file and the path of the first problem (the caller turns it into exit code 2).
 */
export const loadAgentConfig = (file: string, cwd = process.cwd()): Result.Result<AgentConfig, ConfigError> => {
  const doc = readYamlFile(path.resolve(cwd, file), SETTING, true)
  if (Result.isFailure(doc)) return Result.fail(doc.failure)
  const decoded = decodeRubric(doc.success, { reportInput: true })
  if (Result.isFailure(decoded)) {
    const first = firstProblem(decoded.failure.issue)
    return Result.fail(problem(file, first.path === "" ? "(root)" : first.path, first.message))
  }
  const rubric = decoded.success
  const empathy = weightsOf(rubric.empathy_subfactors, "empathy_subfactors", EMPATHY_SUBFACTORS, file)
  if (Result.isFailure(empathy)) return Result.fail(empathy.failure)
  const clarity = weightsOf(rubric.clarity_subfactors, "clarity_subfactors", CLARITY_SUBFACTORS, file)
  if (Result.isFailure(clarity)) return Result.fail(clarity.failure)
  return Result.succeed({ weights: { empathy: empathy.success, clarity: clarity.success }, rubric })
}
