// The indicator publishers: `main.ts` runs all of them; `main.ts --only exf` (or ob, esof, or
// a comma list) runs some, so production can give each its own process, unit and limits.
import { runService } from '@dolphin/service-kit';
import { publishersFromArgv, startPublishers } from './publishers.ts';

const which = publishersFromArgv(process.argv.slice(2));

await runService({
  name: which.length === 3 ? 'indicators' : `indicators-${which.join('-')}`,
  async start(ctx) {
    const runs = await startPublishers(ctx, which);
    ctx.register('publishers', () => Promise.all(runs).then(() => undefined));
  },
});
