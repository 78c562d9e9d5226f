// Live charts from Prometheus' HTTP API, proxied read-only by the edge under /api/prom/
// (query_range and alerts only). Each chart is a fixed-size uPlot box, refreshed every
// 5 s over the last 5 minutes; a new set of series rebuilds the plot in the same box,
// so the page never jumps. These are the panels of the Grafana dashboards, natively too.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { esc } from "../common/api.js";

const WINDOW_S = 300;
const STEP_S = 5;

/**
 * Requests per second of each replica of a service, and 0 for a replica that is down. A stopped
 * replica's series goes stale, and rate() would go on showing its old value for a whole window
 * before the line just ends; Prometheus' own `up` (0 within one 5 s scrape) says it is down, so
 * its line drops to zero while another replica's rises: the failover is seen, not inferred.
 */
const replicaRate = (service) => `(sum by (replica) (rate(http_requests_total{service="${service}"}[30s]))
  and on (replica) max by (replica) (up{job="${service}"}) == 1) or 0 * max by (replica) (up{job="${service}"})`;

/** Chart id -> title, unit and queries; `legend` names a series from its labels. */
export const CHARTS = {
  "rate-gateway": { title: "Requests per second by gateway", unit: "req/s",
    queries: [{ expr: replicaRate("gateway"), legend: (m) => m.replica }] },
  "rate-products": { title: "Requests per second by products replica", unit: "req/s",
    queries: [{ expr: replicaRate("products"), legend: (m) => m.replica }] },
  "replicas": { title: "Serving replicas per service (autoscaling)", unit: "replicas",
    queries: [{ expr: 'count by (job) (up{job=~"gateway|users|products|orders|payments|notifications"} == 1)', legend: (m) => m.job }] },
  // Deploys (stackctl/deploy.py): service_version_info is 1 per replica with its version as a label;
  // joining on (service, replica) splits any RED series by version, canary vs baseline as the deploy sees it.
  "versions": { title: "Replicas per version (deploys)", unit: "replicas",
    queries: [{ expr: "count by (service, version) (service_version_info)", legend: (m) => `${m.service} ${m.version}` }] },
  "errors-by-version": { title: "Error rate (5xx share) by version", unit: "%",
    queries: [{ expr: '100 * sum by (service, version) (rate(http_requests_total{status=~"5.."}[30s]) * on (service, replica) group_left (version) service_version_info) / sum by (service, version) (rate(http_requests_total[30s]) * on (service, replica) group_left (version) service_version_info)', legend: (m) => `${m.service} ${m.version}` }] },
  "p95-by-version": { title: "p95 latency by version", unit: "ms",
    queries: [{ expr: "1000 * histogram_quantile(0.95, sum by (service, version, le) (rate(http_request_duration_seconds_bucket[1m]) * on (service, replica) group_left (version) service_version_info))", legend: (m) => `${m.service} ${m.version}` }] },
  "rate-orders": { title: "Requests per second by orders replica", unit: "req/s",
    queries: [{ expr: replicaRate("orders"), legend: (m) => m.replica }] },
  "p95": { title: "p95 latency by replica", unit: "ms",
    queries: [{ expr: "1000 * histogram_quantile(0.95, sum by (replica, le) (rate(http_request_duration_seconds_bucket[1m])))", legend: (m) => m.replica }] },
  "errors": { title: "Error rate (5xx share) by replica", unit: "%",
    queries: [{ expr: '100 * sum by (replica) (rate(http_requests_total{status=~"5.."}[1m])) / sum by (replica) (rate(http_requests_total[1m]))', legend: (m) => m.replica }] },
  "cache-hit-ratio": { title: "Cache hit ratio", unit: "%",
    queries: [{ expr: '100 * sum by (cache) (rate(cache_requests_total{result="hit"}[1m])) / sum by (cache) (rate(cache_requests_total[1m]))', legend: (m) => m.cache }] },
  // Caching strategies (flag product_cache_strategy): the same reads under whichever strategy is on.
  "cache-strategies": { title: "Cache hit ratio by strategy", unit: "%",
    queries: [{ expr: '100 * sum by (cache, strategy) (rate(cache_reads_total{source="HIT"}[1m])) / sum by (cache, strategy) (rate(cache_reads_total[1m]))', legend: (m) => `${m.cache} ${m.strategy}` }] },
  "cache-loads": { title: "Database loads per read by strategy", unit: "loads/read",
    queries: [{ expr: "sum by (cache, strategy) (rate(cache_loads_total[1m])) / sum by (cache, strategy) (rate(cache_reads_total[1m]))", legend: (m) => `${m.cache} ${m.strategy}` }] },
  "write-behind": { title: "Write-behind: view events, database writes, backlog", unit: "/s, events",
    queries: [{ expr: "sum(rate(write_behind_events_total[30s]))", legend: () => "events/s" },
      { expr: "sum(rate(write_behind_batches_total[30s]))", legend: () => "DB writes/s" },
      { expr: "max(write_behind_backlog)", legend: () => "backlog" }] },
  "db-reads": { title: "Database reads: primary vs replica", unit: "reads/s",
    queries: [{ expr: "sum by (target) (rate(db_reads_total[30s]))", legend: (m) => m.target }] },
  "replica-lag": { title: "Replica lag", unit: "bytes",
    queries: [{ expr: "max by (service) (db_replica_lag_bytes)", legend: (m) => `${m.service} sees` },
      { expr: "max(pg_replication_lag_bytes)", legend: () => "primary reports" }] },
  "queues": { title: "Queue depth and outbox backlog", unit: "messages",
    queries: [{ expr: 'sum by (key) (redis_key_size{db="db0"})', legend: (m) => `queue ${m.key}` },
      { expr: "sum(outbox_backlog)", legend: () => "outbox backlog" }] },
  "sagas": { title: "Orders by saga state (per minute)", unit: "orders/min",
    queries: [{ expr: "60 * sum by (status) (rate(orders_status_total[1m]))", legend: (m) => m.status }] },
  "breakers": { title: "Circuit breakers (0 closed, 1 half-open, 2 open)", unit: "state",
    queries: [{ expr: "max by (caller, service) (circuit_breaker_state)", legend: (m) => `${m.caller}→${m.service}` }] },
  "edge-cache": { title: "Edge cache: responses by X-Cache-Status", unit: "req/s",
    queries: [{ expr: "sum by (cache) (rate(edge_requests_total[30s]))", legend: (m) => m.cache }] },
  "edge-gateways": { title: "Edge balancing: requests per gateway", unit: "req/s",
    queries: [{ expr: "sum by (gateway) (rate(edge_upstream_requests_total[30s]))", legend: (m) => m.gateway }] },
  "rate-limits": { title: "Rate-limit refusals per second", unit: "req/s",
    queries: [{ expr: "sum by (scope) (rate(gateway_rate_limited_total[1m]))", legend: (m) => m.scope }] },
  "analytics-events": { title: "Analytics events per second: processed by outcome, dropped", unit: "events/s",
    queries: [{ expr: "sum by (outcome) (rate(analytics_events_processed_total[30s]))", legend: (m) => m.outcome },
      { expr: "sum(rate(events_dropped_total[30s]))", legend: () => "dropped by producers" }] },
  "analytics-lag": { title: "Analytics: end-to-end lag p95 and undelivered entries", unit: "s / entries",
    queries: [{ expr: "histogram_quantile(0.95, sum by (le) (rate(analytics_event_lag_seconds_bucket[1m])))", legend: () => "lag p95 (s)" },
      { expr: "max(analytics_group_lag) + max(analytics_group_pending)", legend: () => "undelivered + pending" }] },
  // The pooler (pgbouncer): many client connections, at most the pool size of server connections.
  "pooler": { title: "Pooler: client vs Postgres server connections", unit: "connections",
    queries: [{ expr: "sum by (database) (pgbouncer_pool_client_connections)", legend: (m) => `${m.database} clients` },
      { expr: 'sum by (database) (pgbouncer_pool_client_connections{state="waiting"})', legend: (m) => `${m.database} waiting` },
      { expr: "sum by (database) (pgbouncer_pool_server_connections)", legend: (m) => `${m.database} server` }] },
  // Orders shards (orders.shards): orders written per shard, and the buckets of users each owns.
  "shards": { title: "Orders shards: orders per minute and buckets owned", unit: "orders/min · buckets",
    queries: [{ expr: "60 * sum by (shard) (rate(orders_shard_orders_total[1m]))", legend: (m) => `shard ${m.shard} orders/min` },
      { expr: 'max by (database) (pg_shard_buckets{database=~"orders-db.*"})', legend: (m) => `${m.database} buckets` }] },
};

/** Charts shown on the lab, in order (the cards name them too). */
export const SHOWN = ["rate-gateway", "rate-products", "p95", "errors", "cache-hit-ratio", "cache-strategies",
  "cache-loads", "write-behind", "db-reads", "replica-lag", "queues", "sagas", "breakers", "rate-limits", "edge-cache",
  "edge-gateways", "pooler", "shards"];

const PALETTE = ["#2454d6", "#d6542f", "#139a5b", "#8a3fd1", "#c28a00", "#0e8fa8", "#c2185b", "#5d6b82", "#6f9c1d", "#a0522d", "#3b3b98", "#e67e22"];

async function queryRange(expr, start, end) {
  const params = new URLSearchParams({ query: expr, start, end, step: STEP_S });
  const response = await fetch(`/api/prom/query_range?${params}`);
  if (!response.ok) throw new Error(`prometheus ${response.status}`);
  const body = await response.json();
  return body.data.result;
}

class LiveChart {
  constructor(id, box) {
    this.id = id;
    this.spec = CHARTS[id];
    this.box = box;
    box.innerHTML = `<h3>${esc(this.spec.title)} <span class="muted small">(${esc(this.spec.unit)})</span></h3><div class="plot"></div>`;
    this.plotBox = box.querySelector(".plot");
    this.plot = null;
    this.names = "";
  }

  async refresh() {
    const end = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S;
    const start = end - WINDOW_S;
    const xs = [];
    for (let t = start; t <= end; t += STEP_S) xs.push(t);
    const series = [];
    for (const query of this.spec.queries) {
      for (const result of await queryRange(query.expr, start, end)) {
        const byTime = new Map(result.values.map(([t, v]) => [Math.round(t), Number(v)]));
        series.push({ label: query.legend(result.metric) || "value", values: xs.map((t) => (byTime.has(t) && Number.isFinite(byTime.get(t)) ? byTime.get(t) : null)) });
      }
    }
    series.sort((a, b) => a.label.localeCompare(b.label));
    const names = series.map((s) => s.label).join("|");
    const data = [xs, ...series.map((s) => s.values)];
    this.box.dataset.series = JSON.stringify(Object.fromEntries(series.map((s) => [s.label, lastValue(s.values)])));
    if (this.plot && names === this.names) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.plotBox.innerHTML = "";
    this.names = names;
    const width = Math.max(240, this.plotBox.clientWidth || 320);
    this.plot = new uPlot({
      width, height: 180,
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(1, max ?? 1) * 1.1] } },
      // Hours and minutes only: uPlot's default date ticks collide in a 300 px box.
      axes: [{ space: 40, values: (u, ticks) => ticks.map(clock) }, { size: 50 }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false }))],
    }, data, this.plotBox);
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(240, this.plotBox.clientWidth), height: 180 });
  }
}

const clock = (seconds) => new Date(seconds * 1000).toTimeString().slice(0, 5);

const lastValue = (values) => {
  for (let i = values.length - 1; i >= 0; i -= 1) if (values[i] !== null) return values[i];
  return null;
};

async function refreshAlerts(box) {
  try {
    const response = await fetch("/api/prom/alerts");
    const alerts = (await response.json()).data.alerts.filter((alert) => alert.state === "firing");
    box.querySelector(".alert-list").innerHTML = alerts.length === 0 ? `<p class="muted">No alert is firing.</p>`
      : `<ul>${alerts.map((alert) => `<li><strong>${esc(alert.labels.alertname)}</strong>
          ${esc(alert.labels.instance || alert.labels.replica || alert.labels.service || "")}
          <span class="muted small">${esc(alert.annotations?.summary || "")}</span></li>`).join("")}</ul>`;
  } catch (error) {
    box.querySelector(".alert-list").innerHTML = `<p class="notice error">alerts unavailable: ${esc(error.message)}</p>`;
  }
}

/** Build every chart into `grid` and keep them live; returns the charts by id. */
export function startCharts(grid) {
  const charts = SHOWN.map((id) => {
    const box = document.createElement("section");
    box.className = "card chart";
    box.id = `chart-${id}`;
    grid.append(box);
    return new LiveChart(id, box);
  });
  const alerts = document.createElement("section");
  alerts.className = "card chart alerts";
  alerts.id = "chart-alerts";
  alerts.innerHTML = `<h3>Firing alerts</h3><div class="alert-list"><p class="muted">Loading…</p></div>`;
  grid.append(alerts);
  const tick = async () => {
    await Promise.all(charts.map((chart) => chart.refresh().catch((error) => {
      chart.plotBox.innerHTML = `<p class="notice error">${esc(error.message)}</p>`;
      chart.plot = null;
    })));
    await refreshAlerts(alerts);
    setTimeout(tick, STEP_S * 1000);
  };
  tick();
  new ResizeObserver(() => charts.forEach((chart) => chart.resize())).observe(grid);
  return Object.fromEntries(charts.map((chart) => [chart.id, chart]));
}
