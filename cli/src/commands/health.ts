import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, isDolphinError, Keys, loadConfig, MapNames, MetaHealthFiles, metaHealthSchema, type MetaHealth, type ValueSeal } from '@dolphin/core';
import { connect, openMap, openSeal, watchMap, type HzConnection } from '@dolphin/hz';

const META_HEALTH_FILE = MetaHealthFiles.LATEST;
const RESET_FILE = MetaHealthFiles.RESET;

type Record_ = MetaHealth & {
  recovery?: { via?: string; spent?: string[]; recent?: Array<{ at: string; target: string; reason: string; detail: string; outcome: string }> };
  cycle_ms?: number;
  ports?: Record<string, boolean>;
};

const f3 = (x: number) => x.toFixed(3);
const ago = (iso: string) => `${((Date.now() - Date.parse(iso)) / 1000).toFixed(1)} s ago`;

/** The health record in words: status and rm_meta, the five sensors, each process and data source, recovery. */
export function renderHealth(h: Record_, from: string): string {
  const out: string[] = [];
  out.push(`health ${h.status}  rm_meta ${f3(h.rm_meta)}  (${h.timestamp}, ${ago(h.timestamp)}; from ${from})`);
  out.push(`  M1 processes ${f3(h.m1_proc)}  M2 heartbeats ${f3(h.m2_heartbeat)}  M3 data ${f3(h.m3_data_freshness)}  M4 control plane ${f3(h.m4_control_plane)}  M5 coherence ${f3(h.m5_coherence)}`);
  out.push('processes');
  for (const [name, p] of Object.entries(h.subsystem_health.processes)) {
    const x = p as { status: string; pid?: number; heartbeat_age_s?: number; restarts?: number };
    out.push(`  ${name.padEnd(16)} ${x.status.padEnd(22)} ${x.pid ? `pid ${x.pid}` : ''}${x.heartbeat_age_s !== undefined ? `  heartbeat ${x.heartbeat_age_s} s` : ''}${x.restarts ? `  restarts ${x.restarts}` : ''}`.trimEnd());
  }
  out.push('data sources');
  for (const [name, s] of Object.entries(h.subsystem_health.data_sources)) {
    const x = s as { status: string; age_s?: number; external?: boolean; problem?: string };
    out.push(`  ${name.padEnd(8)} ${x.status.padEnd(8)} ${x.age_s !== undefined ? `${x.age_s} s` : '—'}${x.external ? '  (external)' : ''}${x.problem ? `  ${x.problem}` : ''}`);
  }
  const ports = Object.entries(h.ports ?? {}).filter(([, ok]) => !ok).map(([k]) => k);
  if (ports.length > 0) out.push(`ports not answering: ${ports.join(', ')}`);
  const r = h.recovery;
  if (r) {
    out.push(`recovery via ${r.via ?? '?'}; budget spent for: ${r.spent && r.spent.length > 0 ? `${r.spent.join(', ')} (dolphin health --reset <target> once fixed)` : 'none'}`);
    for (const a of (r.recent ?? []).slice(-5)) out.push(`  ${a.at} ${a.target}: ${a.reason} — ${a.detail} (${a.outcome})`);
  }
  return out.join('\n');
}

function fromFile(stateDir: string): Record_ | undefined {
  const file = path.join(stateDir, META_HEALTH_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record_;
  } catch {
    return undefined;
  }
}

/**
 * `dolphin health [--json] [--watch] [--reset [target]]`: the latest health from
 * DOLPHIN_META_HEALTH, or from meta_health.json when the cluster does not answer.
 */
export async function health(o: { json: boolean; watch: boolean; reset?: string | boolean }): Promise<number> {
  const config = loadConfig();
  if (o.reset !== undefined && o.reset !== false) {
    const target = typeof o.reset === 'string' ? o.reset : '';
    writeFileSync(path.join(config.stateDir, RESET_FILE), target);
    console.log(`dolphin: asked meta-health to reset the recovery budget of ${target || 'every target'} (its next cycle does it and logs it)`);
    return 0;
  }
  const logger = createLogger({ service: 'dolphin-health', level: 'error' });
  let conn: HzConnection | undefined;
  // With the install's key (when this user may read it), a record nobody sealed is not shown as health.
  let seal: ValueSeal | undefined;
  try {
    seal = openSeal(config.stateDir, config.security.keyFile, { create: false });
  } catch {
    seal = undefined;
  }
  try {
    conn = await connect({ settings: config.hazelcast, logger, name: 'dolphin-health', firstConnectTimeoutMs: 2_000, ...(seal ? { seal } : {}) });
  } catch {
    conn = undefined;
  }
  const show = (h: Record_, from: string) => {
    if (o.json) console.log(JSON.stringify(h, null, o.watch ? 0 : 2));
    else {
      if (o.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      console.log(renderHealth(h, from));
    }
  };
  if (!conn) {
    const h = fromFile(config.stateDir);
    if (!h) {
      console.error(`dolphin: no health: the cluster at ${config.hazelcast.members.join(',')} does not answer and ${path.join(config.stateDir, META_HEALTH_FILE)} is absent (is meta-health running?)`);
      return 3;
    }
    show(h, `${path.join(config.stateDir, META_HEALTH_FILE)} — the cluster does not answer`);
    if (!o.watch) return h.status === 'GREEN' ? 0 : 1;
    return new Promise<number>((resolve) => {
      const timer = setInterval(() => { const x = fromFile(config.stateDir); if (x) show(x, META_HEALTH_FILE); }, 1_000);
      process.once('SIGINT', () => { clearInterval(timer); resolve(0); });
    });
  }
  const map = await openMap(conn, MapNames.META_HEALTH, metaHealthSchema);
  if (!o.watch) {
    let refused: string | undefined;
    const h = (await map.get(Keys.META_HEALTH_LATEST).catch((err: unknown) => {
      if (!isDolphinError(err, 'DOLPHIN_HZ_UNSEALED') && !isDolphinError(err, 'DOLPHIN_HZ_BAD_SEAL')) throw err;
      refused = (err as Error).message;
      return undefined;
    })) as Record_ | undefined;
    await conn.shutdown();
    if (!h) {
      const file = fromFile(config.stateDir);
      if (file) {
        show(file, `${path.join(config.stateDir, META_HEALTH_FILE)} — ${refused ?? 'DOLPHIN_META_HEALTH is empty'}`);
        return file.status === 'GREEN' ? 0 : 1;
      }
      console.error('dolphin: DOLPHIN_META_HEALTH["latest"] is empty and there is no meta_health.json (is meta-health running?)');
      return 3;
    }
    show(h, 'DOLPHIN_META_HEALTH');
    return h.status === 'GREEN' ? 0 : 1;
  }
  const w = watchMap(conn, map, { key: Keys.META_HEALTH_LATEST, onUpdate: (u) => show(u.value as Record_, 'DOLPHIN_META_HEALTH') });
  await w.ready;
  return new Promise<number>((resolve) => {
    process.once('SIGINT', () => void w.close().then(() => conn?.shutdown()).then(() => resolve(0)));
  });
}
