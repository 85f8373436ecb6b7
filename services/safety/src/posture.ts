import { z } from 'zod';
import { isoMicros, postureSchema, type Exf, type Posture, type Safety } from '@dolphin/core';
import { ACB_CUTS_PCT, acbMemorySchema, acbParamsSchema, acbSignals, duration, initialAcbMemory, num, sizeScaleFor } from './acb.ts';

/**
 * The safety posture: drawdown, stress signals and data freshness into APEX / STALKER /
 * TURTLE / HIBERNATE, with hysteresis so that nothing flaps. Pure: no I/O, no timers; the clock
 * is passed in and everything remembered is in the returned memory.
 */

/** Every parameter of the safety service, with its default (configuration section `safety`). */
export const safetyParamsSchema = acbParamsSchema
  .extend({
    /** Drawdown (fraction of the day's starting capital lost) at or above this: STALKER. */
    stalkerDrawdown: z.number().gt(0).max(1).default(0.02),
    /** … at or above this: TURTLE. */
    turtleDrawdown: z.number().gt(0).max(1).default(0.04),
    /** … at or above this: HIBERNATE. */
    hibernateDrawdown: z.number().gt(0).max(1).default(0.06),
    /** A drawdown level, once reached, is left only when the drawdown is below its threshold minus this. */
    drawdownHysteresis: z.number().min(0).default(0.005),
    /** This many stress signals or more: STALKER. */
    stalkerSignals: z.number().int().min(1).default(2),
    /** This many stress signals or more: TURTLE (signals alone never HIBERNATE). */
    turtleSignals: z.number().int().min(1).default(4),
    /** Last scan older than this: STALKER. */
    scanStaleMs: z.number().int().positive().default(30_000),
    /** Last scan older than this, or none seen: HIBERNATE (nothing to trade on). */
    scanDeadMs: z.number().int().positive().default(120_000),
    /** External factors missing or older than this: STALKER (the size can't be judged). */
    exfStaleMs: z.number().int().positive().default(15 * 60_000),
    /** Trader state older than this, or none seen: TURTLE (the trader may be down). */
    stateStaleMs: z.number().int().positive().default(120_000),
    /** A better posture (and a smaller size cut) must hold this long, continuously, before it is taken; one level per period. */
    calmMs: z.number().int().min(0).default(5 * 60_000),
  })
  .superRefine((p, ctx) => {
    const order = (lo: keyof typeof p, hi: keyof typeof p) => {
      if (!(p[lo] < p[hi])) ctx.addIssue({ code: 'custom', path: [hi], message: `must be greater than ${lo} (${p[lo]})` });
    };
    order('stalkerDrawdown', 'turtleDrawdown');
    order('turtleDrawdown', 'hibernateDrawdown');
    order('drawdownHysteresis', 'stalkerDrawdown');
    order('stalkerSignals', 'turtleSignals');
    order('scanStaleMs', 'scanDeadMs');
    order('dvolThreshold', 'dvolExtremeThreshold');
  });
export type SafetyParams = z.infer<typeof safetyParamsSchema>;

/** Defaults, merged with whatever is given; a bad value throws naming the field. */
export function safetyParams(input: unknown = {}): SafetyParams {
  return safetyParamsSchema.parse(input);
}

/** What the safety service reads each cycle; an absent field means never seen (or unknown). */
export interface SafetyInputs {
  /** DOLPHIN_FEATURES["exf_latest"]. */
  exf?: Exf;
  /** Age of `exf`; taken from its `_pushed_at` when not given. */
  exfAgeMs?: number;
  /** Fraction (0..1) of the day's starting capital lost; undefined = unknown. */
  drawdown?: number;
  /** Age of the last published scan; undefined = none seen. */
  scanAgeMs?: number;
  /** Age of the trader's state (DOLPHIN_STATE_BLUE); undefined = none seen. */
  stateAgeMs?: number;
}

/** Everything carried from one evaluation to the next: plain JSON, so it survives a restart. */
export const safetyMemorySchema = z.strictObject({
  posture: postureSchema,
  /** When the current posture was taken (epoch ms). */
  postureSinceMs: z.number(),
  /** Since when the target has been better than the posture without a break; null when it is not. */
  calmSinceMs: z.number().nullable(),
  /** The drawdown level held by the drawdown hysteresis. */
  drawdownLevel: postureSchema,
  /** Index k: when (epoch ms) k + 1 or more stress signals were last counted; null = not yet. The size cut is the most seen within `calmMs`. */
  signalsSeenMs: z.array(z.number().nullable()).length(ACB_CUTS_PCT.length - 1),
  acb: acbMemorySchema,
});
export type SafetyMemory = z.infer<typeof safetyMemorySchema>;

export interface SafetyEvaluation {
  safety: Safety;
  memory: SafetyMemory;
}

const POSTURES = postureSchema.options; // best to worst: the index is the severity
const rank = (p: Posture): number => POSTURES.indexOf(p);
const name = (level: number): Posture => POSTURES[Math.max(0, Math.min(POSTURES.length - 1, level))]!;

const pct = (fraction: number) => `${num(fraction * 100)} %`;
const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)} UTC`;
const known = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

/** The drawdown level: thresholds as given on the way up, lowered by the hysteresis for levels already held. */
function drawdownLevel(dd: number, held: number, p: SafetyParams): number {
  const thresholds = [p.stalkerDrawdown, p.turtleDrawdown, p.hibernateDrawdown];
  for (let level = thresholds.length; level >= 1; level--) {
    const t = thresholds[level - 1]!;
    if (dd >= t || (held >= level && dd >= t - p.drawdownHysteresis)) return level;
  }
  return 0;
}

/**
 * One evaluation: the target posture is the worst of the drawdown, the stress signals and the
 * data freshness. A worse target is taken at once; a better one only after it has held for
 * `calmMs`, and then one level at a time. `prev` undefined (first start, no saved memory)
 * takes the target directly.
 */
export function evaluateSafety(prev: SafetyMemory | undefined, inputs: SafetyInputs, params: SafetyParams, nowMs: number): SafetyEvaluation {
  const p = params;
  const reasons: string[] = [];
  let target = 0;
  const raise = (level: number, reason: string) => {
    target = Math.max(target, level);
    reasons.push(`${reason} → ${name(level)}`);
  };

  // Drawdown. Unknown keeps the level last judged: a loss does not go away by not being seen.
  const heldDd = prev ? rank(prev.drawdownLevel) : 0;
  let ddLevel = heldDd;
  const thresholdOf = (level: number) => [0, p.stalkerDrawdown, p.turtleDrawdown, p.hibernateDrawdown][level]!;
  if (known(inputs.drawdown)) {
    const dd = inputs.drawdown;
    ddLevel = drawdownLevel(dd, heldDd, p);
    if (ddLevel > 0) {
      const t = thresholdOf(ddLevel);
      raise(ddLevel, dd >= t
        ? `drawdown ${pct(dd)} of the day's starting capital is at or above ${pct(t)}`
        : `drawdown ${pct(dd)} still counts as ${pct(t)} or more until it is below ${pct(t - p.drawdownHysteresis)}`);
    }
  } else if (heldDd > 0) {
    raise(heldDd, `drawdown unknown: keeping the last level judged (${pct(thresholdOf(heldDd))} or more)`);
  } else {
    reasons.push('drawdown unknown (no trader PnL yet): not judged');
  }

  // Stress signals. Without external factors nothing is counted (freshness below says why).
  let signals = 0;
  let acb = prev?.acb ?? initialAcbMemory();
  if (inputs.exf) {
    const r = acbSignals(inputs.exf, p, prev?.acb, nowMs);
    signals = r.signals;
    acb = r.memory;
    if (signals >= p.turtleSignals) raise(2, `${signals} stress signals (${p.turtleSignals} or more)`);
    else if (signals >= p.stalkerSignals) raise(1, `${signals} stress signals (${p.stalkerSignals} or more)`);
    reasons.push(...r.reasons);
  }

  // Data freshness.
  if (!known(inputs.scanAgeMs)) raise(3, 'no scan seen yet: nothing to trade on');
  else if (inputs.scanAgeMs > p.scanDeadMs) raise(3, `last scan is ${duration(inputs.scanAgeMs)} old (over ${duration(p.scanDeadMs)}): nothing to trade on`);
  else if (inputs.scanAgeMs > p.scanStaleMs) raise(1, `last scan is ${duration(inputs.scanAgeMs)} old (over ${duration(p.scanStaleMs)})`);

  if (!inputs.exf) raise(1, "external factors (exf_latest) not received: size can't be judged");
  else {
    const age = inputs.exfAgeMs ?? nowMs - Date.parse(inputs.exf._pushed_at);
    if (!known(age)) raise(1, "external factors have no readable timestamp: size can't be judged");
    else if (age > p.exfStaleMs) raise(1, `external factors are ${duration(age)} old (over ${duration(p.exfStaleMs)}): size can't be judged`);
  }

  if (!known(inputs.stateAgeMs)) raise(2, 'no trader state seen yet: the trader may be down');
  else if (inputs.stateAgeMs > p.stateStaleMs) raise(2, `trader state is ${duration(inputs.stateAgeMs)} old (over ${duration(p.stateStaleMs)}): the trader may be down`);

  // The posture: worse at once, better after calmMs of a better target, one level at a time.
  let posture = prev ? rank(prev.posture) : target;
  let since = prev?.postureSinceMs ?? nowMs;
  let calmSince = prev?.calmSinceMs ?? null;
  if (!prev || target === posture) {
    calmSince = null;
  } else if (target > posture) {
    posture = target;
    since = nowMs;
    calmSince = null;
  } else {
    calmSince ??= nowMs;
    if (nowMs - calmSince >= p.calmMs) {
      posture -= 1;
      since = nowMs;
      // The next step needs a calm period of its own.
      calmSince = target < posture ? nowMs : null;
    }
  }
  if (posture > target) {
    reasons.push(`conditions now point to ${name(target)}; holding ${name(posture)} (since ${clock(since)}) until calm for ${duration(p.calmMs)} (${duration(nowMs - (calmSince ?? nowMs))} so far)`);
  }

  // The size cut is the most signals counted within the last calmMs: more cut at once, fewer
  // ease only once the higher count has been gone that long, so a noisy factor holds one cut.
  const seen = (prev?.signalsSeenMs ?? []).slice();
  for (let k = 1; k < ACB_CUTS_PCT.length; k++) seen[k - 1] = signals >= k ? nowMs : (seen[k - 1] ?? null);
  let sizeSignals = 0;
  for (let k = 1; k < ACB_CUTS_PCT.length; k++) {
    const at = seen[k - 1];
    if (at !== null && at !== undefined && nowMs - at < p.calmMs) sizeSignals = k;
  }
  sizeSignals = Math.max(sizeSignals, signals);
  const hibernate = name(posture) === 'HIBERNATE';
  const sizeScale = hibernate ? 0 : sizeScaleFor(sizeSignals);
  if (hibernate) {
    reasons.push('HIBERNATE: size_scale 0');
  } else if (sizeSignals > 0) {
    const cut = ACB_CUTS_PCT[Math.min(sizeSignals, ACB_CUTS_PCT.length - 1)]!;
    const held = sizeSignals > signals ? ` (the most in the last ${duration(p.calmMs)}; ${signals} now)` : '';
    reasons.push(`size cut ${cut} % for ${sizeSignals} stress signal${sizeSignals === 1 ? '' : 's'}${held}: size_scale ${num(sizeScale)}`);
  }
  if (reasons.length === 0) reasons.push('all clear: no stress signals, drawdown within limits, data fresh');

  const safety: Safety = {
    posture: name(posture),
    size_scale: sizeScale,
    reasons,
    // Microsecond precision from a millisecond clock, exactly (a float of epoch ns is not exact).
    ts: isoMicros(BigInt(Math.round(nowMs * 1000)) * 1000n),
  };
  const memory: SafetyMemory = {
    posture: name(posture),
    postureSinceMs: since,
    calmSinceMs: calmSince,
    drawdownLevel: name(ddLevel),
    signalsSeenMs: seen.map((t) => t ?? null),
    acb,
  };
  return { safety, memory };
}
