import { Context, type Effect } from "effect"
import type { Report } from "../domain/Report.ts"

/**
 * Renders a report as one self-contained HTML page: charts drawn to inline SVG when the page is
 * generated, so it opens with no network and prints. Implemented by `src/report/html/`.
 */
export class ReportHtml extends Context.Service<ReportHtml, {
  readonly render: (report: Report) => Effect.Effect<string>
}>()("cpa/ReportHtml") {}
