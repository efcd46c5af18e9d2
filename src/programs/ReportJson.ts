import type { Report } from "../domain/Report.ts"

/** Fractions to 6 decimals: enough for costs in dollars, short enough to read. */
const round6 = (_key: string, value: unknown): unknown =>
  typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1e6) / 1e6 : value

/** The report as JSON: the `Report` object itself, with the field names documented in the README. */
export const formatReportJson = (report: Report): string => JSON.stringify(report, round6, 2)
