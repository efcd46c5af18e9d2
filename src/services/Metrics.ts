import { Metric } from "effect"

/**
 * The job's metrics, served in Prometheus text format on `/metrics` when the health server runs.
 * Effect's exporter writes each name as given (it neither adds nor strips `_total`), but it
 * collapses `__`, drops a trailing `_` and passes an `le` attribute through as a second `le`
 * label: keep names plain snake_case and give no metric an attribute named `le`, `quantile`,
 * `key`, `unit` or `time_unit`, so that what a dashboard queries is the name written here.
 */
export const recordsProcessed = Metric.counter("cpa_records_processed_total", {
  description: "Source records finished (persisted or dead-lettered)",
  incremental: true
})
export const recordsAnalyzed = Metric.counter("cpa_records_analyzed_total", { description: "Records the analyzer scored", incremental: true })
export const recordsPersisted = Metric.counter("cpa_records_persisted_total", { description: "Results written to agentic_analysis", incremental: true })
export const recordsDeadLettered = Metric.counter("cpa_records_dead_lettered_total", {
  description: "Records written to failed_analysis_records",
  incremental: true
})
export const batchDuration = Metric.histogram("cpa_batch_duration_seconds", {
  description: "Duration of a batch",
  boundaries: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800]
})
export const analyzerLatency = Metric.histogram("cpa_analyzer_latency_seconds", {
  description: "Duration of one analyzer call (one attempt)",
  boundaries: [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120]
})
export const tokensIn = Metric.counter("cpa_llm_input_tokens_total", {
  description: "Input tokens reported by the model (including cache reads and writes)",
  incremental: true
})
export const tokensOut = Metric.counter("cpa_llm_output_tokens_total", { description: "Output tokens reported by the model", incremental: true })
export const evidenceDropped = Metric.counter("cpa_evidence_dropped_total", {
  description: "Rationale quotes dropped because they do not occur in the message they cite",
  incremental: true
})
export const lastSuccessfulBatch = Metric.gauge("cpa_last_successful_batch_timestamp_seconds", {
  description: "Unix time at which the last batch completed"
})
export const backlog = Metric.gauge("cpa_backlog_records", { description: "Source records after the checkpoint" })
export const batchRequests = Metric.gauge("cpa_batch_requests", {
  description: "Batch mode: requests of the last polled Message Batch, by status (processing, succeeded, errored, canceled, expired)"
})
