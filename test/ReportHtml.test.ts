import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { buildReport, DEFAULT_REPORT_OPTIONS } from "../src/programs/Report.ts"
import { renderHtml } from "../src/report/html/HtmlReport.ts"
import { makeMemoryConversationStore } from "../src/store/memory/MemoryConversationStore.ts"
import { memoryWorld, testSettings } from "./support/fixtures.ts"
import { type Conv, resultOf, sourceOf } from "./support/reportFixtures.ts"

/** Handles and messages come from the public: they must reach the page as text, never as markup. */
describe("the HTML report", () => {
  it.effect("escapes agent handles, labels and customer messages, in tables and in the charts' SVG", () =>
    Effect.gen(function*() {
      const evil = "<img src=x onerror=alert(1)>&\"x\""
      const convs: ReadonlyArray<Conv> = Array.from({ length: 12 }, (_, i) => ({
        i,
        at: `2024-03-0${4 + (i % 5)}T10:00:00Z`,
        agent: i % 2 === 0 ? evil : "<script>alert(2)</script>",
        topic: "</table><h1>topic</h1>",
        scores: { csat_resolution: 1 + (i % 5) * 0.5, resolution_completeness: i % 2 }
      }))
      const w = memoryWorld(convs.map(sourceOf))
      const store = makeMemoryConversationStore(w.store)
      for (const c of convs) yield* store.upsertResult(yield* resultOf(c))
      for (const dimension of ["agent", "topic"] as const) {
        const report = yield* buildReport({
          ...DEFAULT_REPORT_OPTIONS,
          dimension,
          since: new Date("2024-03-04T00:00:00Z"),
          until: new Date("2024-03-11T00:00:00Z")
        }).pipe(Effect.provide(Layer.merge(w.layer, testSettings())))
        const html = renderHtml(report)
        assert.notInclude(html, "<img src=x")
        assert.notInclude(html, "<script")
        assert.notInclude(html, "<h1>topic")
        assert.include(html, "&lt;img src=x onerror=alert(1)&gt;")
      }
    }))
})
