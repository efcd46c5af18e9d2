import { Result } from "effect"
import { KPI_CATEGORIES, KPI_NAMES, type KpiName, type Range } from "./Kpi.ts"

/**
 * Human grades for `cpa calibrate`: CSV (a header row) or JSON lines, with the columns
 * `source_object_id`, an optional `grader`, and any subset of the 14 KPI names. Parsing is pure;
 * every problem is one line naming the line of the file.
 */

export interface GradeRow {
  /** 24 lower-case hex digits. */
  readonly sourceId: string
  /** "" when the file has no grader column (or the cell is empty). */
  readonly grader: string
  /** 1-based line of the file. */
  readonly line: number
  readonly values: Readonly<Partial<Record<KpiName, number>>>
}

export type GradesFormat = "csv" | "jsonl"

export const KPI_RANGES: Readonly<Record<KpiName, Range>> = Object.assign({}, ...Object.values(KPI_CATEGORIES)) as Record<KpiName, Range>

const ID_COLUMN = "source_object_id"
const GRADER_COLUMN = "grader"
const OBJECT_ID = /^[0-9a-fA-F]{24}$/

const isKpi = (name: string): name is KpiName => (KPI_NAMES as ReadonlyArray<string>).includes(name)

const unknownColumn = (name: string) =>
  `unknown column ${JSON.stringify(name)}: expected ${ID_COLUMN}, ${GRADER_COLUMN} or a KPI name (${KPI_NAMES.join(", ")})`

/** Splits CSV text into rows of fields (RFC 4180: quoted fields, "" inside quotes, CRLF or LF). */
export const parseCsv = (text: string): Result.Result<Array<{ readonly line: number; readonly fields: Array<string> }>, string> => {
  const rows: Array<{ line: number; fields: Array<string> }> = []
  let fields: Array<string> = []
  let field = ""
  let quoted = false
  let line = 1
  let rowLine = 1
  let i = 0
  const endRow = () => {
    fields.push(field)
    if (!(fields.length === 1 && fields[0]!.trim() === "")) rows.push({ line: rowLine, fields })
    fields = []
    field = ""
  }
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text
  while (i < body.length) {
    const c = body[i]!
    if (quoted) {
      if (c === "\"" && body[i + 1] === "\"") {
        field += "\""
        i += 2
        continue
      }
      if (c === "\"") quoted = false
      else {
        if (c === "\n") line++
        field += c
      }
      i++
      continue
    }
    if (c === "\"" && field.trim() === "") {
      quoted = true
      field = ""
    } else if (c === ",") {
      fields.push(field)
      field = ""
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && body[i + 1] === "\n") i++
      endRow()
      line++
      rowLine = line
    } else field += c
    i++
  }
  if (quoted) return Result.fail(`line ${rowLine}: a quoted field is not closed`)
  if (field !== "" || fields.length > 0) endRow()
  return Result.succeed(rows)
}

const checkValue = (kpi: KpiName, raw: unknown, line: number): Result.Result<number | undefined, string> => {
  if (raw === null || raw === undefined || (typeof raw === "string" && raw.trim() === "")) return Result.succeed(undefined)
  const value = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw.trim()) : Number.NaN
  const r = KPI_RANGES[kpi]
  if (!Number.isFinite(value)) return Result.fail(`line ${line}: ${kpi}: expected a number, got ${JSON.stringify(raw)}`)
  if (value < r.min || value > r.max || (r.integer && !Number.isInteger(value))) {
    return Result.fail(`line ${line}: ${kpi}: ${value} is outside its scale (${r.integer ? `${r.min} or ${r.max}` : `${r.min} to ${r.max}`})`)
  }
  return Result.succeed(value)
}

const makeRow = (line: number, cells: ReadonlyArray<readonly [string, unknown]>): Result.Result<GradeRow, string> => {
  let sourceId: string | undefined
  let grader = ""
  const values: Partial<Record<KpiName, number>> = {}
  for (const [column, raw] of cells) {
    if (column === ID_COLUMN) {
      const id = typeof raw === "string" ? raw.trim() : ""
      if (!OBJECT_ID.test(id)) return Result.fail(`line ${line}: ${ID_COLUMN}: expected 24 hex digits, got ${JSON.stringify(raw)}`)
      sourceId = id.toLowerCase()
    } else if (column === GRADER_COLUMN) {
      if (raw !== null && raw !== undefined && typeof raw !== "string") return Result.fail(`line ${line}: ${GRADER_COLUMN}: expected text, got ${JSON.stringify(raw)}`)
      grader = (raw ?? "").trim()
    } else if (isKpi(column)) {
      const v = checkValue(column, raw, line)
      if (Result.isFailure(v)) return Result.fail(v.failure)
      if (v.success !== undefined) values[column] = v.success
    } else return Result.fail(`line ${line}: ${unknownColumn(column)}`)
  }
  if (sourceId === undefined) return Result.fail(`line ${line}: no ${ID_COLUMN}`)
  return Result.succeed({ sourceId, grader, line, values })
}

const fromCsv = (text: string): Result.Result<Array<GradeRow>, string> => {
  const parsed = parseCsv(text)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const [header, ...rows] = parsed.success
  if (header === undefined) return Result.fail("the file is empty")
  const columns = header.fields.map((f) => f.trim())
  const bad = columns.find((c) => c !== ID_COLUMN && c !== GRADER_COLUMN && !isKpi(c))
  if (bad !== undefined) return Result.fail(`line ${header.line}: ${unknownColumn(bad)}`)
  if (!columns.includes(ID_COLUMN)) return Result.fail(`line ${header.line}: the header has no ${ID_COLUMN} column`)
  const twice = columns.find((c, i) => columns.indexOf(c) !== i)
  if (twice !== undefined) return Result.fail(`line ${header.line}: the column ${twice} appears twice`)
  const out: Array<GradeRow> = []
  for (const row of rows) {
    if (row.fields.length !== columns.length) {
      return Result.fail(`line ${row.line}: ${row.fields.length} fields, but the header has ${columns.length}`)
    }
    const r = makeRow(row.line, columns.map((c, i) => [c, row.fields[i]] as const))
    if (Result.isFailure(r)) return Result.fail(r.failure)
    out.push(r.success)
  }
  return Result.succeed(out)
}

const fromJsonLines = (text: string): Result.Result<Array<GradeRow>, string> => {
  const out: Array<GradeRow> = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i]!.trim()
    if (source === "") continue
    let value: unknown
    try {
      value = JSON.parse(source)
    } catch (e) {
      return Result.fail(`line ${i + 1}: not valid JSON (${(e as Error).message})`)
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return Result.fail(`line ${i + 1}: expected a JSON object`)
    const r = makeRow(i + 1, Object.entries(value))
    if (Result.isFailure(r)) return Result.fail(r.failure)
    out.push(r.success)
  }
  return Result.succeed(out)
}

/**
 * The grade rows of a file's text. Fails with one line (naming the file's line) on an unknown
 * column, a value outside its KPI's scale, a malformed id or row, a second row for the same
 * conversation and grader, or a file without rows.
 */
export const parseGrades = (text: string, format: GradesFormat): Result.Result<Array<GradeRow>, string> => {
  const rows = format === "csv" ? fromCsv(text) : fromJsonLines(text)
  if (Result.isFailure(rows)) return rows
  if (rows.success.length === 0) return Result.fail("the file has no grades")
  const seen = new Map<string, number>()
  for (const row of rows.success) {
    const key = `${row.sourceId}\u0000${row.grader}`
    const first = seen.get(key)
    if (first !== undefined) {
      return Result.fail(
        `line ${row.line}: a second row for ${row.sourceId}${row.grader === "" ? " without a grader" : ` by ${row.grader}`} (first on line ${first}); give each grader's row a grader name`
      )
    }
    seen.set(key, row.line)
  }
  return rows
}
