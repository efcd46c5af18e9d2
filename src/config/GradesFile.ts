import * as fs from "node:fs"
import * as path from "node:path"
import { Result } from "effect"
import { ConfigError } from "../domain/Errors.ts"
import { type GradeRow, type GradesFormat, parseGrades } from "../domain/Grades.ts"

/** JSON lines by extension (.jsonl, .ndjson) or when the first character is `{`; else CSV. */
export const gradesFormat = (file: string, text: string): GradesFormat =>
  /\.(jsonl|ndjson)$/i.test(file) ? "jsonl" : /\.csv$/i.test(file) ? "csv" : text.trimStart().startsWith("{") ? "jsonl" : "csv"

/**
 * Reads a grades file for `cpa calibrate`. Every problem is a `ConfigError` (exit code 2) with
 * one line naming the file and, for a bad row, its line.
 */
export const loadGrades = (file: string, cwd = process.cwd()): Result.Result<ReadonlyArray<GradeRow>, ConfigError> => {
  let text: string
  try {
    text = fs.readFileSync(path.resolve(cwd, file), "utf8")
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return Result.fail(new ConfigError({
      setting: "--grades",
      message: `--grades: cannot read ${file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`
    }))
  }
  return Result.mapError(parseGrades(text, gradesFormat(file, text)), (message) => new ConfigError({ setting: "--grades", message: `--grades: ${file}: ${message}` }))
}
