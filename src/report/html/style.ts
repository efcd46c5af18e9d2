/** The page's CSS: system fonts, a readable column on a laptop, and a print layout. */
export const STYLE = `
:root { --text: #222; --muted: #666; --rule: #d9d9d9; --bg-soft: #f5f6f8; --accent: #4e79a7; --worse: #c62828; --up: #2e7d32; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--text); background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; line-height: 1.45; }
header, main { max-width: 1000px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid var(--rule); padding-bottom: 12px; }
h1 { font-size: 1.7rem; margin: 0 0 6px; }
h2 { font-size: 1.3rem; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.05rem; margin: 20px 0 6px; }
p { margin: 6px 0; }
.lead { color: #333; max-width: 80ch; }
.query { margin: 4px 0 10px; }
.muted { color: var(--muted); }
.note { color: var(--muted); font-size: 0.87rem; }
nav { font-size: 0.93rem; }
nav a { color: var(--accent); text-decoration: none; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.88em; }
pre { background: var(--bg-soft); padding: 8px 12px; border-radius: 4px; overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; margin: 10px 0 14px; }
.card { background: var(--bg-soft); border-radius: 6px; padding: 10px 12px; }
.card .label { font-size: 0.82rem; color: var(--muted); }
.card .value { font-size: 1.35rem; font-weight: 600; }
.card .sub { font-size: 0.8rem; color: var(--muted); overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9rem; }
th, td { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; border-bottom: 1px solid #ececec; }
thead th { border-bottom: 1px solid #999; font-weight: 600; }
th.num, td.num { text-align: right; padding-left: 10px; font-variant-numeric: tabular-nums; }
td.message { max-width: 38ch; color: #333; }
td.nowrap, th.nowrap, th.num { white-space: nowrap; }
table.wide thead th { white-space: normal; vertical-align: bottom; }
th.group { padding-top: 10px; color: var(--accent); border-bottom: 1px solid var(--rule); }
table.compact { font-size: 0.82rem; line-height: 1.3; }
table.compact th, table.compact td { padding: 1px 8px 1px 0; }
table.review { font-size: 0.85rem; width: 100%; }
.scroll { overflow-x: auto; }
.up { color: var(--up); }
.down, .worse { color: var(--worse); font-weight: 600; }
figure.chart { margin: 14px 0 22px; padding: 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart .svg { width: 100%; }
figure.chart svg { width: 100%; height: auto; display: block; }
figure.chart figcaption.data { margin-top: 4px; overflow-x: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 6px 22px; }
.grid.two { grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
section { margin-bottom: 10px; }
@media print {
  html { font-size: 11px; }
  header, main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .scroll, figure.chart figcaption.data { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 14mm; }
}
`
