import { formatIssues } from '@dolphin/core';
import type { SafetyInput } from '@dolphin/ledger';
import { initialState, strategyParamsSchema, type StrategyState } from '@dolphin/strategy';
import { exfTimeline, loadDayScans, safetyTimeline } from './archive.ts';
import type { ModelDayResult } from './db.ts';
import { runModelDay, type ModelDayStats } from './model-day.ts';

/** What a worker thread is given: plain data, its own copy — nothing shared between model-days. */
export interface ModelDayTask {
  date: string;
  model: string;
  strategy: Record<string, unknown>;
  scansDir: string;
  /** Where decoded days are kept between backtests. */
  cacheDir?: string;
  inputsLedger?: string;
  indicatorsDir?: string;
  startState?: StrategyState;
}

export type ModelDayOutcome = { ok: true; result: ModelDayResult; stats: ModelDayStats } | { ok: false; error: string };

const DAY_NS = 86_400e9;

/** Loads the day's archive and runs the model over it; any problem is this model-day's failure alone. */
export async function executeModelDay(task: ModelDayTask): Promise<ModelDayOutcome> {
  const parsed = strategyParamsSchema.safeParse(task.strategy);
  if (!parsed.success) return { ok: false, error: `model ${task.model}: invalid strategy: ${formatIssues(parsed.error.issues).join('; ')}` };
  const params = parsed.data;
  try {
    const day = await loadDayScans(task.scansDir, task.date, task.cacheDir);
    const from = Date.parse(`${task.date}T00:00:00Z`) * 1e6;
    const toolUsage: ModelDayResult['toolUsage'] = [{ tool: day.cached ? 'scan_files (day cache)' : 'scan_files', count: day.files, duration_ms: Math.round(day.ms * 100) / 100 }];
    let safetyAt: (ts: number) => SafetyInput | undefined;
    if (task.inputsLedger) {
      const t0 = performance.now();
      const timeline = safetyTimeline(task.inputsLedger);
      safetyAt = (ts) => timeline.at(ts);
      toolUsage.push({ tool: 'safety_inputs', count: timeline.countBetween(from, from + DAY_NS), duration_ms: Math.round((performance.now() - t0) * 100) / 100 });
    } else {
      // No record of what live trading saw: every scan at APEX, full size, fresh.
      safetyAt = (ts) => ({ posture: 'APEX', size_scale: 1, ts: new Date(ts / 1e6).toISOString() });
    }
    let exfAt;
    if (task.indicatorsDir) {
      const t0 = performance.now();
      const exf = exfTimeline(task.indicatorsDir);
      exfAt = (ts: number) => exf.at(ts);
      toolUsage.push({ tool: 'indicators', count: exf.countBetween(from, from + DAY_NS), duration_ms: Math.round((performance.now() - t0) * 100) / 100 });
    }
    const t0 = performance.now();
    const r = runModelDay({ date: task.date, params, scans: day.scans, safetyAt, ...(exfAt ? { exfAt } : {}), startState: task.startState ?? initialState(params) });
    toolUsage.push({ tool: 'decide', count: r.stats.decided, duration_ms: Math.round((performance.now() - t0) * 100) / 100 });
    for (const u of day.unreadable) r.reasoning.unshift({ ts: `${task.date}T00:00:00.000000Z`, scan_number: null, kind: 'unreadable_scan', message: `${u.file}: ${u.reason} (skipped)` });
    return { ok: true, result: { ...r, toolUsage }, stats: r.stats };
  } catch (err) {
    return { ok: false, error: `model ${task.model} on ${task.date}: ${(err as Error).message}` };
  }
}
