import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pinnedVersion } from '@dolphin/core';
import { pinnedHazelcastVersion } from '@dolphin/hz';
import { must } from './systemctl.ts';

/** Not part of an install: version control, local runs' state, coverage, scratch. */
const LEFT_OUT = new Set(['.git', '.dolphin', 'coverage', 'tmp', 'cache']);
const leftOut = (rel: string) => LEFT_OUT.has(rel.split('/')[0] as string) || /^test\/\.dev-/.test(rel);

/** Files of the source tree (not node_modules): what the fingerprint covers. */
function sourceFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.name === 'node_modules' || leftOut(r)) continue;
    if (d.isDirectory()) out.push(...sourceFiles(root, r));
    else if (d.isFile()) out.push(r);
  }
  return out.sort();
}

/**
 * What the code to install is: every source file's path and content, the installed
 * dependencies' record (node_modules/.modules.yaml) and the pinned toolchain. The same tree
 * installed twice has the same fingerprint, so a re-run copies nothing.
 */
export function sourceFingerprint(root: string): string {
  const h = createHash('sha256');
  for (const f of sourceFiles(root)) h.update(f).update('\0').update(readFileSync(path.join(root, f))).update('\0');
  const modules = path.join(root, 'node_modules/.modules.yaml');
  if (existsSync(modules)) h.update(readFileSync(modules));
  h.update(`node ${process.version} hz ${pinnedHazelcastVersion()}`);
  return h.digest('hex').slice(0, 32);
}

export interface Toolchain {
  /** The pinned node that runs this command (the bootstrap's). */
  node: string;
  /** The member jar in the caller's cache. */
  jar: string;
}

/**
 * Copies the checkout (with its node_modules, symlinks kept) and the toolchain into `dest`,
 * owned by root and readable by everyone, writable by no one else: the services run this code
 * but cannot change it.
 */
export function stageInstall(source: string, dest: string, tools: Toolchain): void {
  mkdirSync(dest, { recursive: true, mode: 0o755 });
  const entries = readdirSync(source).filter((e) => !leftOut(e));
  must('cp', ['-a', '--no-preserve=ownership', ...entries.map((e) => path.join(source, e)), `${dest}/`]);
  for (const d of readdirSync(path.join(dest, 'test'), { withFileTypes: true })) {
    if (d.isDirectory() && d.name.startsWith('.dev-')) must('rm', ['-rf', path.join(dest, 'test', d.name)]);
  }
  const nodeDir = path.join(dest, 'cache/node', pinnedVersion('NODE'), 'bin');
  mkdirSync(nodeDir, { recursive: true });
  copyFileSync(tools.node, path.join(nodeDir, 'node'));
  const hz = pinnedHazelcastVersion();
  const jarDir = path.join(dest, 'cache/hazelcast', hz);
  mkdirSync(jarDir, { recursive: true });
  copyFileSync(tools.jar, path.join(jarDir, `hazelcast-${hz}.jar`));
  must('chown', ['-R', '--no-dereference', 'root:root', dest]);
  must('chmod', ['-R', 'u+rwX,go+rX,go-w', dest]);
}
