import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, envLayer, deepMerge } from './config.ts';
import { isDolphinError } from './errors.ts';

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-config-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

describe('config loader', () => {
  it('gives documented defaults with no file and no environment', () => {
    const cfg = loadConfig({ dir: dirWith({}), environ: {} });
    expect(cfg.env).toBe('dev');
    expect(cfg.hazelcast).toMatchObject({ clusterName: 'dolphin', members: ['127.0.0.1:5701'] });
    expect(cfg.member.port).toBe(5701);
    expect(Object.isFrozen(cfg) && Object.isFrozen(cfg.hazelcast)).toBe(true);
  });

  it('layers base file, env overlay, environment variables and overrides in that order', () => {
    const dir = dirWith({
      'dolphin.json': { log: { level: 'warn' }, hazelcast: { clusterName: 'base', operationTimeoutMs: 111 } },
      'dolphin.test.json': { hazelcast: { clusterName: 'overlay' }, member: { port: 5801 } },
      'dolphin.prod.json': { member: { port: 9999 } },
    });
    const cfg = loadConfig({
      dir,
      environ: { DOLPHIN_ENV: 'test', HZ_MEMBERS: '127.0.0.1:5801, 127.0.0.1:5802', DOLPHIN__heartbeat__intervalMs: '250' },
      overrides: { log: { level: 'debug' } },
    });
    expect(cfg.env).toBe('test');
    expect(cfg.hazelcast.clusterName).toBe('overlay');
    expect(cfg.hazelcast.operationTimeoutMs).toBe(111);
    expect(cfg.hazelcast.members).toEqual(['127.0.0.1:5801', '127.0.0.1:5802']);
    expect(cfg.member.port).toBe(5801);
    expect(cfg.heartbeat.intervalMs).toBe(250);
    expect(cfg.log.level).toBe('debug');
  });

  it('a bad value fails naming every field, its reason and where it came from', () => {
    const dir = dirWith({ 'dolphin.json': { member: { port: 70000 }, hazelcast: { members: ['localhost'] } } });
    let caught: unknown;
    try {
      loadConfig({ dir, environ: { DOLPHIN__heartbeat__intervalMs: 'often' } });
    } catch (err) {
      caught = err;
    }
    expect(isDolphinError(caught, 'DOLPHIN_CONFIG_INVALID')).toBe(true);
    const msg = (caught as Error).message;
    expect(msg).toMatch(/member\.port: .*\(from .*dolphin\.json\)/);
    expect(msg).toMatch(/hazelcast\.members\.0: must be host:port/);
    expect(msg).toMatch(/heartbeat\.intervalMs: .*\(from environment\)/);
  });

  it('refuses unknown fields (strict schemas catch typos)', () => {
    expect(() => loadConfig({ dir: dirWith({ 'dolphin.json': { hazelcast: { clustername: 'x' } } }), environ: {} }))
      .toThrow(/hazelcast: Unrecognized key: "clustername"/);
  });

  it('names the file that is not JSON', () => {
    const dir = dirWith({ 'dolphin.json': '{ not json' });
    expect(() => loadConfig({ dir, environ: {} })).toThrow(/dolphin\.json: not valid JSON/);
  });

  it('env layer: JSON values parse, plain strings stay strings', () => {
    expect(envLayer({ DOLPHIN__a__b: '[1,2]', DOLPHIN__c: 'plain', OTHER: 'x' })).toEqual({ a: { b: [1, 2] }, c: 'plain' });
    expect(deepMerge({ a: { x: 1, y: [1] } }, { a: { y: [2] } })).toEqual({ a: { x: 1, y: [2] } });
  });
});

describe('a config folder the process may not read', () => {
  it('is an error naming the folder, not a silent run on the defaults', () => {
    // As root every folder is readable: the check runs as nobody (uid 65534) in a child process.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dolphin-cfg-closed-'));
    writeFileSync(path.join(dir, 'dolphin.json'), '{"stateDir": "/nowhere"}');
    chmodSync(dir, 0o700);
    const script = `import { loadConfig } from ${JSON.stringify(path.resolve('packages/core/src/config.ts'))};
try { loadConfig({ dir: ${JSON.stringify(dir)}, environ: {} }); console.log('loaded'); } catch (e) { console.log(e.code, e.message); }`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    if (r.error || (r.status !== 0 && /setpriv/.test(r.stderr))) {
      console.warn(`config folder permission check does not run here: setpriv unavailable (${r.error?.message ?? r.stderr.trim()})`);
      return;
    }
    expect(r.stdout).toContain(`DOLPHIN_CONFIG_FILE_UNREADABLE config folder ${dir}: cannot be read by uid 65534 (EACCES)`);
  });
});
