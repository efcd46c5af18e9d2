import { assert, describe, it } from "vitest"
import { emptyTotals } from "../src/domain/JobState.ts"
import { emptyUsage } from "../src/domain/Kpi.ts"
import { formatBatchResults, formatJobStatistics, RULE } from "../src/programs/Reports.ts"

describe("report blocks", () => {
  it("BATCH RESULTS has the specification's rules and labels", () => {
    const text = formatBatchResults({
      records_processed: 50,
      records_analyzed: 48,
      records_persisted: 48,
      errors: 2,
      duration_seconds: 45.234,
      last_processed_id: "66f7c8e123456789abcdef32",
      started_at: "2023-01-01T10:05:00.000Z",
      usage: emptyUsage,
      estimated_cost_usd: 0
    })
    assert.strictEqual(RULE.length, 80)
    assert.strictEqual(
      text,
      [
        RULE,
        "BATCH RESULTS",
        RULE,
        "Records Processed: 50",
        "Records Analyzed: 48",
        "Records Persisted: 48",
        "Errors: 2",
        "Duration: 45.23 seconds",
        "Last Processed ID: 66f7c8e123456789abcdef32"
      ].join("\n")
    )
  })

  it("BATCH RESULTS adds tokens and cost when a model reported usage", () => {
    const text = formatBatchResults({
      records_processed: 1,
      records_analyzed: 1,
      records_persisted: 1,
      errors: 0,
      duration_seconds: 1,
      last_processed_id: null,
      started_at: "",
      usage: { input_tokens: 1200, output_tokens: 300, cache_creation_input_tokens: 2500, cache_read_input_tokens: 0 },
      estimated_cost_usd: 0.017475
    })
    assert.include(text, "Input Tokens: 1,200\nOutput Tokens: 300\nCache Write Tokens: 2,500\nCache Read Tokens: 0\nEstimated Cost: $0.0175")
  })

  it("JOB STATISTICS has the specification's labels and the recent results list", () => {
    const text = formatJobStatistics({
      state: {
        job_name: "conversation_performance_analysis",
        last_processed_object_id: "66f7c8e123456789abcdef01",
        last_updated: "2023-01-01T10:05:00.000Z",
        status: "completed",
        data: { iteration: 5, batch_stats: null, total_stats: emptyTotals }
      },
      counts: { sources: 1300, results: 1250, openDeadLetters: 3, backlog: 47, unreadable: 0 },
      recent: [{
        conversation_id: "conv_66f7c8e123456789abcdef01",
        analysis_metadata: { processed_timestamp: "2023-01-01T10:05:00Z", model_used: "claude-4" }
      } as never],
      deadLetters: [{ tag: "AnalyzerError", count: 2 }, { tag: "InvalidSourceDocument", count: 1 }]
    })
    const lines = text.split("\n")
    assert.deepStrictEqual(lines.slice(0, 8), [
      RULE,
      "JOB STATISTICS",
      RULE,
      "Job Status: completed",
      "Last Updated: 2023-01-01 10:05:00",
      "Last Processed ID: 66f7c8e123456789abcdef01",
      "Agentic Analysis Records: 1,250",
      "Latest Results: 1"
    ])
    assert.include(text, "Backlog: 47")
    assert.include(text, "\nSource Records: 1,300\n", "nothing to explain when every _id is an ObjectId")
    const unreadable = formatJobStatistics({ state: undefined, counts: { sources: 10, results: 0, openDeadLetters: 0, backlog: 7, unreadable: 3 }, recent: [], deadLetters: [] })
    assert.include(unreadable, "Source Records: 10 (3 with an _id that is not an ObjectId: never processed, the job reads in ObjectId order)")
    assert.include(text, "Open Dead Letters: 3 (AnalyzerError: 2, InvalidSourceDocument: 1)")
    assert.include(text, "\n\nRecent Analysis Results:\n  • conv_66f7c8e123456789abcdef01 - 2023-01-01T10:05:00Z - claude-4")
  })
})
