import { isDolphinError, loadConfig } from '@dolphin/core';
import type { JobListItem, ReportListItem } from '@dolphin/jobs-api';

const UNAVAILABLE = 69;

/** Rows as columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd());
}

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '—');
const dates = (d: string[]) => (d.length <= 2 ? d.join(',') : `${d[0]}..${d.at(-1)} (${d.length})`);
const took = (j: JobListItem) => (j.started_at && j.completed_at ? `${((Date.parse(j.completed_at) - Date.parse(j.started_at)) / 1000).toFixed(1)} s` : '—');
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;

export function jobsTable(jobs: JobListItem[]): string[] {
  return table([
    ['job', 'status', 'config', 'dates', 'models', 'model-days', 'created (UTC)', 'took'],
    ...jobs.map((j) => [
      j.job_id.slice(0, 8), j.status, j.config_path, dates(j.date_range), j.models.join(','),
      `${j.progress.completed}/${j.progress.total_model_days}${j.progress.failed ? ` (${j.progress.failed} failed)` : ''}`, when(j.created_at), took(j),
    ]),
  ]);
}

export function reportsTable(reports: ReportListItem[]): string[] {
  return table([
    ['date', 'trades', 'realized', 'fees', 'max drawdown', 'postures', 'backtest', 'stored (UTC)'],
    ...reports.map((r) => [
      r.date, String(r.trades), signed(r.realized_pnl), r.fees.toFixed(2), `${r.max_drawdown.toFixed(2)} (${r.max_drawdown_pct.toFixed(2)} %)`,
      String(r.posture_changes), r.job_id ? `${r.job_id.slice(0, 8)} ${r.job_status ?? 'gone'}` : '—', when(r.updated_at),
    ]),
  ]);
}

/** `dolphin jobs`: the jobs API's recent backtest jobs and the daily batch's day reports. */
export async function jobsCommand(o: { json: boolean; limit: number }): Promise<number> {
  const { jobs } = loadConfig();
  const { JobsClient } = await import('@dolphin/jobs-api');
  const client = new JobsClient(`http://${jobs.host}:${jobs.port}`);
  let list: JobListItem[];
  let reports: ReportListItem[];
  try {
    [list, reports] = await Promise.all([client.jobs(), client.reports(o.limit)]);
  } catch (err) {
    console.error(`dolphin: jobs: ${(err as Error).message}`);
    return isDolphinError(err, 'DOLPHIN_JOBS_UNREACHABLE') || isDolphinError(err, 'DOLPHIN_JOBS_REFUSED') ? UNAVAILABLE : 1;
  }
  if (o.json) {
    console.log(JSON.stringify({ jobs: list, reports }, null, 2));
    return 0;
  }
  console.log(`jobs (newest first; ${client.url}/simulate/status/<job> has each one in full)`);
  console.log(list.length ? jobsTable(list).join('\n') : '  none yet');
  console.log('');
  console.log(`day reports of the daily batch (newest first; ${client.url}/reports/<date> has the trades and postures)`);
  console.log(reports.length ? reportsTable(reports).join('\n') : '  none yet (dolphin daily makes one)');
  return 0;
}
