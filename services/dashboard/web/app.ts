import { barChart, esc, lineChart, meter } from './charts.ts';
import type { Patch, Point, ScanPoint, Snapshot, Topic } from './snapshot.ts';

/** The page: a Snapshot from the stream, kept current by its patches, drawn once per frame. */

let model: Snapshot | undefined;
/** Server clock minus ours, so ages read right on a machine whose clock differs. */
let skewMs = 0;
let streamUp = false;
let streamDownSince = 0;
const dirty = new Set<Topic | 'all'>();

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const now = () => Date.now() + skewMs;
const money = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const signed = (v: number) => `${v > 0 ? '+' : ''}${money(v)}`;
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`);
const hhmmss = (t: number) => new Date(t).toISOString().slice(11, 19);
const sign = (v: number) => (v > 0 ? 'pos' : v < 0 ? 'neg' : '');

function age(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
const duration = (s: number | null) => (s === null ? '–' : age(s));

function append<P extends Point>(into: P[], points: P[] | undefined, max: number): void {
  if (!points || points.length === 0) return;
  into.push(...points);
  if (into.length > max) into.splice(0, into.length - max);
}

function apply(p: Patch): void {
  if (!model) return;
  const m = model;
  switch (p.topic) {
    case 'health': { const { history, ...rest } = p.value; Object.assign(m.health, rest); append(m.health.history, history, 600); break; }
    case 'scan': { const { history, ...rest } = p.value; Object.assign(m.scan, rest); append<ScanPoint>(m.scan.history, history, 600); break; }
    case 'trader': { const { equity, ...rest } = p.value; Object.assign(m.trader, rest); append(m.trader.equity, equity, 2000); break; }
    default: Object.assign(m[p.topic], p.value);
  }
  dirty.add(p.topic);
  schedule();
}

let frame = 0;
function schedule(): void {
  if (frame === 0) frame = requestAnimationFrame(() => { frame = 0; render(); });
}

function render(): void {
  if (!model) return;
  const all = dirty.has('all');
  const has = (t: Topic) => all || dirty.has(t);
  if (has('health')) renderHealth(model);
  if (has('scan')) renderScan(model);
  if (has('trader') || has('pnl')) renderTrader(model);
  if (has('latency')) renderLatency(model);
  if (has('services')) renderServices(model);
  if (has('jobs')) renderJobs(model);
  if (has('jobs') || has('services')) renderDaily(model);
  dirty.clear();
  renderAges();
}

function renderHealth(m: Snapshot): void {
  const h = m.health.latest;
  const pill = $('#status-pill');
  pill.className = `pill status-${h?.status ?? 'UNKNOWN'}`;
  pill.textContent = h?.status ?? 'no health yet';
  $('#rm-meta').textContent = h ? `rm_meta ${h.rm_meta.toFixed(3)}` : '';
  const sensors: [string, number | undefined][] = [
    ['M1 processes', h?.m1_proc], ['M2 heartbeats', h?.m2_heartbeat], ['M3 data freshness', h?.m3_data_freshness],
    ['M4 control plane', h?.m4_control_plane], ['M5 coherence', h?.m5_coherence],
  ];
  $('#sensors').innerHTML = sensors.map(([name, v]) => `<span>${name}</span><span class="bar">${meter(v ?? 0)}</span><span class="v">${v === undefined ? '–' : v.toFixed(2)}</span>`).join('');
  $('#health-chart').innerHTML = lineChart(m.health.history.map((p) => ({ x: p.t, y: p.v })), { height: 90, xLabel: hhmmss, yLabel: (y) => y.toFixed(2), empty: 'rm_meta history appears here' });
  const chips = h ? [...Object.entries(h.subsystem_health.processes), ...Object.entries(h.subsystem_health.data_sources)]
    .map(([name, e]) => `<span class="chip ${e.score >= 0.9 ? 'ok' : e.score >= 0.5 ? 'warn' : 'bad'}" title="${esc(`${e.status} (${e.score.toFixed(2)})`)}">${esc(name)} ${esc(e.status)}</span>`).join('') : '';
  $('#subsystems').innerHTML = chips;
}

function renderScan(m: Snapshot): void {
  const s = m.scan.latest;
  $('#scan-number').textContent = s ? `#${s.scan_number}` : '–';
  const vel = $('#scan-vel');
  vel.textContent = s ? s.vel_div.toFixed(4) : '–';
  vel.className = s && s.vel_div <= m.scan.threshold ? 'neg' : '';
  $('#scan-assets').textContent = s ? String(s.assets) : '–';
  $('#scan-time').textContent = s ? s.timestamp.slice(11, 19) : '–';
  $('#vel-chart').innerHTML = lineChart(m.scan.history.map((p) => ({ x: p.t, y: p.v })), {
    xLabel: hhmmss, yLabel: (y) => y.toFixed(3), refs: [{ y: m.scan.threshold, label: `SHORT at ≤ ${m.scan.threshold}` }], empty: 'vel_div of each scan appears here',
  });
}

function renderTrader(m: Snapshot): void {
  const t = m.trader.latest;
  const today = m.pnl.days.find((d) => d.date === m.pnl.today);
  $('#capital').textContent = money(t?.capital);
  $('#equity').textContent = money(t?.equity);
  const pnl = $('#today-pnl');
  const dayPnl = today ? today.realized_pnl + (t ? t.unrealized_pnl : today.unrealized_pnl) : t && t.day_start_equity !== null ? t.equity - t.day_start_equity : null;
  pnl.textContent = dayPnl === null ? '–' : signed(dayPnl);
  pnl.className = dayPnl === null ? '' : sign(dayPnl);
  $('#today-trades').textContent = today ? String(today.trades) : '0';
  $('#posture').textContent = t?.posture ?? '–';
  $('#decided').textContent = t ? `#${t.last_scan_number}` : '–';
  $('#blocked').textContent = t ? [t.entry_blocked ? `entries blocked: ${t.entry_blocked}` : '', t.day_locked ? 'daily drawdown lock: no new entries today' : ''].filter(Boolean).join(' · ') : '';
  $('#positions tbody').innerHTML = (t?.open_positions ?? []).map((p) => `<tr><td>${esc(p.symbol)}</td><td>${esc(p.side)}</td><td>${p.quantity.toPrecision(6)}</td><td>${money(p.entry_price)}</td><td>${esc(p.opened_at.slice(11, 19))}</td></tr>`).join('');
  $('#equity-chart').innerHTML = lineChart(m.trader.equity.map((p) => ({ x: p.t, y: p.v })), {
    xLabel: hhmmss, yLabel: (y) => money(y), className: 'equity', empty: 'the equity curve (capital + unrealized) appears here',
    refs: t && t.day_start_equity !== null ? [{ y: t.day_start_equity, label: 'day start' }] : [],
  });
  $('#pnl-chart').innerHTML = barChart(m.pnl.days.map((d) => ({ label: d.date.slice(5), value: d.realized_pnl, className: sign(d.realized_pnl), title: `${d.date}: realized ${signed(d.realized_pnl)}, ${d.trades} trades` })), {
    height: 90, yLabel: (y) => money(y), empty: 'realized PnL per day appears here',
  });
}

function renderLatency(m: Snapshot): void {
  const l = m.latency;
  $('#lat-p50').textContent = ms(l.p50_ms);
  $('#lat-p99').textContent = ms(l.p99_ms);
  $('#lat-last').textContent = ms(l.last_ms);
  $('#lat-count').textContent = String(l.count);
  $('#latency-chart').innerHTML = barChart(l.buckets.map((b, i) => ({
    label: b.le_ms < 0 ? `>${l.buckets[i - 1]?.le_ms ?? 0}` : `≤${b.le_ms}`, value: b.count, title: `${b.le_ms < 0 ? 'slower' : `≤ ${b.le_ms} ms`}: ${b.count}`,
  })), { yLabel: (y) => String(Math.round(y)), empty: 'decisions appear here as scans are traded' });
  $('#hops').textContent = Object.keys(l.hops).length > 0 ? `p50 per hop: ${Object.entries(l.hops).map(([k, v]) => `${k.replaceAll('_', ' ')} ${ms(v)}`).join(' · ')} (ms, over the last ${l.count} decisions)` : '';
}

function renderServices(m: Snapshot): void {
  $('#services-source').textContent = m.services.source === 'supervisor' ? 'from the supervisor' : 'from heartbeats';
  $('#services tbody').innerHTML = m.services.rows.map((r) => `<tr><td>${esc(r.name)}${r.critical ? ' *' : ''}</td><td class="state-${esc(r.state)}">${esc(r.state)}</td>`
    + `<td>${r.pid ?? '–'}</td><td>${duration(r.uptime_s)}</td><td>${r.restarts ?? '–'}</td><td>${r.rss_mb === null ? '–' : `${r.rss_mb} MB`}</td>`
    + `<td>${r.cpu_pct === null ? '–' : `${r.cpu_pct} %`}</td><td>${r.heartbeat_age_s === null ? '–' : `${r.heartbeat_age_s} s ago`}</td><td class="note">${esc(r.detail ?? '')}</td></tr>`).join('');
}

function renderJobs(m: Snapshot): void {
  $('#jobs tbody').innerHTML = m.jobs.rows.map((j) => `<tr><td>${esc(j.job_id)}</td><td class="state-${esc(j.status)}">${esc(j.status)}</td><td>${esc(j.config_path ?? '–')}</td><td>${esc(j.dates)}</td>`
    + `<td>${j.completed + j.failed} / ${j.total}${j.failed > 0 ? ` (${j.failed} failed)` : ''}</td><td>${esc(j.created_at.slice(0, 19).replace('T', ' '))}</td><td>${esc((j.completed_at ?? '–').slice(0, 19).replace('T', ' '))}</td></tr>`).join('');
}

/** The daily batch: the paper trader's last reported day, its backtest, and when it runs next. */
function renderDaily(m: Snapshot): void {
  const { report: r, schedule: s } = m.jobs.daily;
  const day = r
    ? `<b>${esc(r.date)}</b>: ${r.trades} trades, realized <span class="${sign(r.realized_pnl)}">${signed(r.realized_pnl)}</span>, fees ${money(r.fees)}, `
      + `max drawdown ${money(r.max_drawdown)} (${r.max_drawdown_pct.toFixed(2)} %), ${r.posture_changes} posture change${r.posture_changes === 1 ? '' : 's'}`
      + ` · backtest <span class="state-${esc(r.job_status ?? 'none')}">${esc(r.job_status ?? 'none')}</span>`
    : 'no day report yet (dolphin daily makes one)';
  const next = s ? ` · ${esc(s.state)}${s.next_run_at ? `, next run ${esc(s.next_run_at.slice(0, 16).replace('T', ' '))} UTC` : ''}${s.last_exit ? `, last run ${esc(s.last_exit)}` : ''}` : '';
  $('#daily').innerHTML = `Daily batch: ${day}${next}`;
}

/** Ages tick every second, and say how old each value is when the cluster is gone. */
function renderAges(): void {
  if (!model) return;
  const m = model;
  const t = now();
  const valueTime: Record<string, number | null> = {
    health: m.health.latest ? Date.parse(m.health.latest.timestamp) : null,
    scan: m.scan.latest ? Date.parse(m.scan.latest.timestamp) : null,
    trader: m.trader.latest ? Date.parse(m.trader.latest.updated_at) : null,
    services: m.services.received,
    jobs: m.jobs.received,
  };
  for (const el of document.querySelectorAll<HTMLElement>('[data-age]')) {
    const at = valueTime[el.dataset.age as string];
    el.textContent = at === null || at === undefined ? '' : `${age(Math.max(0, (t - at) / 1000))} old`;
    el.classList.toggle('stale', at !== null && at !== undefined && t - at > 30_000);
  }
  for (const el of document.querySelectorAll<HTMLElement>('[data-err]')) {
    el.textContent = (m[el.dataset.err as 'health' | 'scan' | 'trader' | 'services' | 'jobs'] as { error: string | null }).error ?? '';
  }
  const link = $('#link');
  link.textContent = m.link.connected ? `hazelcast ${m.link.members.join(',')}` : 'hazelcast unreachable';
  link.classList.toggle('down', !m.link.connected);
  $('#clock').textContent = `${new Date(t).toISOString().slice(11, 19)} UTC`;
  const banner = $('#banner');
  if (!streamUp && (model !== undefined || Date.now() - streamDownSince > 2_000)) {
    banner.hidden = false;
    banner.className = 'banner stream';
    banner.textContent = `The dashboard server does not answer (for ${age((Date.now() - streamDownSince) / 1000)}): reconnecting; the values below are the last ones received.`;
  } else if (!m.link.connected) {
    banner.hidden = false;
    banner.className = 'banner';
    banner.dataset.testid = 'hz-down';
    banner.textContent = `Hazelcast is unreachable (since ${hhmmss(m.link.since)} UTC, ${age((t - m.link.since) / 1000)}): the values below are the last ones seen, with their age. This clears by itself when the cluster is back.`;
  } else {
    banner.hidden = true;
    banner.textContent = '';
    delete banner.dataset.testid;
  }
}

function connect(): void {
  const es = new EventSource('/events');
  es.addEventListener('snapshot', (e) => {
    model = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
    skewMs = model.server_time - Date.now();
    streamUp = true;
    dirty.add('all');
    schedule();
  });
  es.addEventListener('patch', (e) => apply(JSON.parse((e as MessageEvent<string>).data) as Patch));
  es.addEventListener('error', () => {
    if (streamUp) streamDownSince = Date.now();
    streamUp = false;
    renderAges();
  });
}

streamDownSince = Date.now();
connect();
setInterval(renderAges, 1_000);
