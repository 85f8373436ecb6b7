import { makeError } from '@dolphin/core';
import type { DayReport } from '@dolphin/ledger';
import { JobsErrors } from './errors.ts';

/** A job as GET /simulate/status/:id answers (the fields its clients read). */
export interface JobStatusView {
  job_id: string;
  status: 'pending' | 'running' | 'completed' | 'partial' | 'failed';
  progress: { total_model_days: number; completed: number; failed: number; running: number; pending: number };
  config_path: string;
  date_range: string[];
  models: string[];
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  total_duration_seconds: number | null;
  error: string | null;
  details: Array<{ date: string; model: string; status: string; error: string | null }>;
}

/** A job as GET /jobs lists it: the status view without its model-days. */
export type JobListItem = Omit<JobStatusView, 'details' | 'total_duration_seconds'>;

export interface ReportListItem {
  date: string;
  kind: 'daily';
  job_id: string | null;
  job_status: JobStatusView['status'] | null;
  trades: number;
  entries: number;
  realized_pnl: number;
  fees: number;
  max_drawdown: number;
  max_drawdown_pct: number;
  posture_changes: number;
  created_at: string;
  updated_at: string;
}

export interface ModelSummaryView {
  model: string;
  return_pct: number | null;
  trades: number;
  final_equity: number | null;
}

type Answer = { status: number; body: Record<string, unknown> };

/**
 * The jobs API over HTTP, for `dolphin daily` and `dolphin jobs`. A connection that fails is
 * DOLPHIN_JOBS_UNREACHABLE; an answer outside what a call expects is DOLPHIN_JOBS_REFUSED with
 * its status (`details.status`) and the API's own words.
 */
export class JobsClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(url: string, token?: string, timeoutMs = 10_000) {
    this.url = url.replace(/\/$/, '');
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  private async call(method: 'GET' | 'POST', route: string, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${route}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token && method === 'POST' ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      const why = ((cause as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error).message;
      throw makeError(JobsErrors.DOLPHIN_JOBS_UNREACHABLE, `the jobs API at ${this.url} does not answer (${method} ${route}: ${why}); is jobs-api running? (dolphin status)`, { cause });
    }
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { detail: text.slice(0, 200) };
    }
    return { status: res.status, body: parsed };
  }

  private refused(what: string, a: Answer): Error {
    const d = a.body.detail;
    const words = typeof d === 'string' ? d : Array.isArray(d) ? d.map((x: { field?: string; message?: string }) => `${x.field}: ${x.message}`).join('; ') : JSON.stringify(a.body).slice(0, 200);
    return makeError(JobsErrors.DOLPHIN_JOBS_REFUSED, `${what}: the jobs API at ${this.url} answered ${a.status}: ${words}`, { details: { status: a.status } });
  }

  /** Resolves once the API answers its health check, or throws DOLPHIN_JOBS_UNREACHABLE after `withinMs`. */
  async waitUntilUp(withinMs: number, everyMs = 500): Promise<void> {
    const until = Date.now() + withinMs;
    for (;;) {
      try {
        await this.call('GET', '/health');
        return;
      } catch (err) {
        if (Date.now() + everyMs > until) throw err;
        await new Promise((r) => setTimeout(r, everyMs));
      }
    }
  }

  /**
   * Starts a backtest: the new job's id, or the id of the same job already active (200). Another
   * job running (409) comes back as `busy` with the API's words, for the caller to wait on.
   */
  async trigger(configPath: string, dates: string[], models?: string[]): Promise<{ jobId: string } | { busy: string }> {
    const a = await this.call('POST', '/simulate/trigger', { config_path: configPath, date_range: dates, ...(models ? { models } : {}) });
    if ((a.status === 202 || a.status === 200) && typeof a.body.job_id === 'string') return { jobId: a.body.job_id };
    if (a.status === 409) return { busy: String(a.body.detail ?? 'another job is running') };
    throw this.refused(`backtest ${configPath} for ${dates.join(', ')}`, a);
  }

  async job(jobId: string): Promise<JobStatusView> {
    const a = await this.call('GET', `/simulate/status/${encodeURIComponent(jobId)}`);
    if (a.status !== 200) throw this.refused(`job ${jobId}`, a);
    return a.body as unknown as JobStatusView;
  }

  async summary(jobId: string): Promise<ModelSummaryView[]> {
    const a = await this.call('GET', `/results/summary?job_id=${encodeURIComponent(jobId)}`);
    if (a.status !== 200) throw this.refused(`summary of job ${jobId}`, a);
    return (a.body.models ?? []) as ModelSummaryView[];
  }

  /** Stores a day's report (POST /reports/daily): whether it replaced one already there. */
  async putDailyReport(jobId: string | null, report: DayReport): Promise<{ replaced: boolean }> {
    const a = await this.call('POST', '/reports/daily', { job_id: jobId, report });
    if (a.status !== 201 && a.status !== 200) throw this.refused(`the day report of ${report.date}`, a);
    return { replaced: a.body.replaced === true };
  }

  async jobs(): Promise<JobListItem[]> {
    const a = await this.call('GET', '/jobs');
    if (a.status !== 200) throw this.refused('the job list', a);
    return (a.body.jobs ?? []) as JobListItem[];
  }

  async reports(limit = 20): Promise<ReportListItem[]> {
    const a = await this.call('GET', `/reports?limit=${limit}`);
    if (a.status !== 200) throw this.refused('the day reports', a);
    return (a.body.reports ?? []) as ReportListItem[];
  }
}
