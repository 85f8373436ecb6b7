import { readFileSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { REPO_ROOT, stripTypes, type Logger, type ServiceRegistry } from '@dolphin/core';
import { importClosure, thirdPartyImports, workspaceEntries } from './import-graph.ts';
import { mainOf, startOrder } from './registry.ts';
import type { Supervisor } from './supervisor.ts';

export interface DevReloaderOptions {
  supervisor: Supervisor;
  registry: ServiceRegistry;
  logger: Logger;
  /** A line for the person at the terminal. */
  say: (line: string) => void;
  /** Saves closer together than this are one change (editors write a file in bursts). */
  debounceMs?: number;
  root?: string;
}

export interface ReloadReport {
  files: string[];
  /** Restarted, in order; empty when a file did not compile. */
  restarted: Array<{ name: string; snapshot: 'written' | 'failed' | 'none'; ms: number }>;
  error?: string;
}

/**
 * `dolphin dev`: watches each service's own files (its import closure through the workspace
 * packages), checks a change compiles, then restarts exactly the services that load a changed
 * file and those that depend on them, in dependency order, each as a fresh process carrying its
 * state (SupervisedProcess.reload). A file that does not compile leaves every process running.
 */
export class DevReloader {
  private readonly o: Required<Omit<DevReloaderOptions, 'root'>> & { root: string };
  private closures = new Map<string, Set<string>>();
  private workspace = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Every reload, for tests and the benchmark. */
  readonly reports: ReloadReport[] = [];
  onReport: ((r: ReloadReport) => void) | undefined;

  constructor(o: DevReloaderOptions) {
    // A scheduled entry runs at its times only: restarting it would run it (the daily batch on every save).
    const kept = Object.entries(o.registry).filter(([, e]) => e.schedule === undefined);
    const names = new Set(kept.map(([n]) => n));
    const registry = Object.fromEntries(kept.map(([n, e]) => [n, { ...e, dependsOn: e.dependsOn.filter((d) => names.has(d)) }])) as ServiceRegistry;
    this.o = { debounceMs: 50, root: REPO_ROOT, ...o, registry };
  }

  /** The services whose code includes `file`. */
  servicesOf(file: string): string[] {
    return [...this.closures].filter(([, files]) => files.has(path.resolve(file))).map(([name]) => name);
  }

  async start(): Promise<void> {
    this.computeClosures();
    const files = new Set([...this.closures.values()].flatMap((s) => [...s]));
    // The folders, not the files: an editor that saves by writing a new file and renaming it over
    // the old one (vim, git checkout) replaces the inode a file watch would be on.
    this.watcher = watch(this.folders(), { ignoreInitial: true, depth: 0, atomic: true });
    const onFile = (f: string) => { if (this.servicesOf(f).length > 0) this.queue(f); };
    this.watcher.on('change', onFile);
    this.watcher.on('add', onFile);
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
    this.warmSpares();
    this.o.logger.info({ files: files.size, services: [...this.closures.keys()] }, 'dev: watching');
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
    await this.running;
  }

  private folders(): string[] {
    return [...new Set([...this.closures.values()].flatMap((s) => [...s].map((f) => path.dirname(f))))];
  }

  /** Each service gets a spare process with its third-party modules loaded, to become its next start. */
  private warmSpares(): void {
    for (const [name, files] of this.closures) this.o.supervisor.get(name)?.enableSpare(thirdPartyImports(files, this.workspace));
  }

  private computeClosures(): void {
    this.workspace = workspaceEntries(this.o.root);
    this.closures = new Map();
    for (const [name, e] of Object.entries(this.o.registry)) {
      if (e.kind !== 'service') continue;
      this.closures.set(name, importClosure(mainOf(name, e), this.workspace));
    }
  }

  /** The services a change of `files` restarts, in start order: those loading them, then their dependents. */
  restartOrder(files: string[]): string[] {
    const affected = new Set(files.flatMap((f) => this.servicesOf(f)));
    // What depends on a restarted service restarts after it, as `up` started it after.
    for (const e of startOrder(this.o.registry)) if (e.dependsOn.some((d) => affected.has(d))) affected.add(e.name);
    return startOrder(this.o.registry).map((e) => e.name).filter((n) => affected.has(n));
  }

  private queue(file: string): void {
    this.pending.add(path.resolve(file));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const files = [...this.pending];
      this.pending.clear();
      this.running = this.running.then(() => this.reload(files));
    }, this.o.debounceMs);
  }

  private async reload(files: string[]): Promise<void> {
    const rel = files.map((f) => path.relative(this.o.root, f));
    for (const f of files) {
      if (!f.endsWith('.ts')) continue;
      try {
        stripTypes(readFileSync(f, 'utf8'), f);
      } catch (err) {
        const error = `${path.relative(this.o.root, f)}: ${(err as Error).message.split('\n')[0]}`;
        this.o.say(`dev: ${error} — not restarted; the running processes keep the code they have`);
        return this.report({ files: rel, restarted: [], error });
      }
    }
    const restarted: ReloadReport['restarted'] = [];
    for (const name of this.restartOrder(files)) {
      const proc = this.o.supervisor.get(name);
      if (!proc) continue;
      const t0 = performance.now();
      const { snapshot } = await proc.reload(`dev: ${rel.join(', ')} changed`);
      const ms = Math.round(performance.now() - t0);
      restarted.push({ name, snapshot, ms });
      this.o.say(`dev: ${name} restarted in ${ms} ms (${proc.state}${snapshot === 'written' ? ', state carried over' : ''}) after ${rel.join(', ')} changed`);
    }
    this.computeClosures(); // an edit may add or drop imports
    this.warmSpares();
    this.watcher?.add(this.folders());
    this.report({ files: rel, restarted });
  }

  private report(r: ReloadReport): void {
    this.reports.push(r);
    this.onReport?.(r);
  }
}
