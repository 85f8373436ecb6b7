// dev mode's warm spare: a process that has loaded a service's third-party modules (the bulk of a
// start: hazelcast-client, zod, pino, …) and waits. When the service is to restart, it is told
// which main to run (and its arguments, `--restart` among them when a snapshot was written): the project's own files load then, after the edit, so it runs the new code
// as a fresh process would. Started with --experimental-import-meta-resolve (to resolve each
// module from the file that imports it). DOLPHIN_PRELOAD: [{ spec, from }] (from: a file path).
import { pathToFileURL } from 'node:url';

const list = JSON.parse(process.env.DOLPHIN_PRELOAD ?? '[]') as Array<{ spec: string; from: string }>;
delete process.env.DOLPHIN_PRELOAD;
for (const { spec, from } of list) {
  try {
    await import(import.meta.resolve(spec, pathToFileURL(from).href));
  } catch { /* the service's own import will say what is wrong */ }
}
const go = await new Promise<{ main: string; args: string[] }>((resolve) => {
  process.on('message', function onGo(m: { type?: string; main?: string; args?: string[] }) {
    if (m?.type !== 'go' || typeof m.main !== 'string') return;
    process.off('message', onGo);
    resolve({ main: m.main, args: m.args ?? [] });
  });
  process.once('disconnect', () => process.exit(0));
  process.send?.({ type: 'standby' });
});
process.argv = [process.argv[0] as string, go.main, ...go.args];
await import(pathToFileURL(go.main).href);
