import { describe, expect, it } from 'vitest';
import { groupUsage, parseStat, readAllStats, systemPageSize } from './proc-stats.ts';

describe('/proc stats', () => {
  it('parses a stat line whose command name holds spaces and parentheses', () => {
    const line = '4242 (C2 Compiler) (x)) S 1 4200 4200 0 -1 4194624 10 0 0 0 123 45 0 0 20 0 17 0 9000 1000000 2500 18446744073709551615';
    expect(parseStat(line)).toEqual({ pid: 4242, state: 'S', ppid: 1, pgrp: 4200, cpuTicks: 168, threads: 17, rssPages: 2500 });
  });

  it('refuses a line it cannot read', () => {
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('finds this process and sums its group', () => {
    const all = readAllStats();
    const me = all.find((s) => s.pid === process.pid);
    expect(me).toBeDefined();
    const usage = groupUsage(all, new Set([me!.pgrp])).get(me!.pgrp);
    expect(usage?.pids).toContain(process.pid);
    expect(usage!.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(usage!.tasks).toBeGreaterThanOrEqual(me!.threads);
    expect([4096, 16_384, 65_536]).toContain(systemPageSize());
  });
});
