import { Command, Option } from 'commander';
import { isDolphinError } from '@dolphin/core';
import { up } from './commands/up.ts';
import { test } from './commands/test.ts';
import { memberStart, memberJar } from './commands/member.ts';
import { doctor } from './commands/doctor.ts';
import { bench, benchNames } from './commands/bench.ts';
import { produce, replay } from './commands/produce.ts';

const program = new Command('dolphin')
  .description('Dolphin: event-driven trading signals on Hazelcast')
  .showHelpAfterError()
  .addHelpText('after', `
Examples:
  ./dolphin up --demo          run everything on a local member with the demo scan producer
  ./dolphin test               typecheck, then every unit and integration test
  ./dolphin test test/integration/cluster.test.ts
  HZ_MEMBERS=hz1:5701,hz2:5701 ./dolphin up   join an existing cluster instead of starting a member

Configuration: config/dolphin.json, config/dolphin.<env>.json (DOLPHIN_ENV=dev|test|prod),
then DOLPHIN__section__key=value environment variables. Docs: docs/operations.md`);

const exitWith = (p: Promise<number> | number) => Promise.resolve(p).then((code) => process.exit(code), (err: unknown) => {
  console.error(`dolphin: ${(err as Error).message}`);
  process.exit(isDolphinError(err, 'DOLPHIN_CONFIG_INVALID') ? 78 : 1);
});

program.command('up')
  .description('start a local Hazelcast member (unless HZ_MEMBERS is set) and the services; Ctrl-C stops all')
  .option('--demo', 'also run the demo scan producer', false)
  .addOption(new Option('--port <port>', 'member port (default: member.port, 5701)').argParser((v) => Number.parseInt(v, 10)))
  .addOption(new Option('--rate <scans-per-s>', 'demo producer rate').default(0.2).argParser(Number.parseFloat))
  .action((o: { demo: boolean; port?: number; rate: number }) => exitWith(up(o)));

program.command('produce')
  .description('write realistic scan files into the scan folder (a stand-in for the NG scanner)')
  .addOption(new Option('--rate <scans-per-s>', 'scans per second, up to 1000').default(0.2).argParser(Number.parseFloat))
  .addOption(new Option('--count <n>', 'stop after n scans (default: until Ctrl-C)').argParser((v) => Number.parseInt(v, 10)))
  .option('--dir <path>', 'scan folder (default: scans.dir, .dolphin/scans)')
  .addOption(new Option('--mode <mode>', 'write-then-rename, or in place').choices(['rename', 'in-place']).default('rename'))
  .addOption(new Option('--format <format>', 'Arrow IPC file or stream format').choices(['file', 'stream']).default('file'))
  .addOption(new Option('--seed <n>', 'random seed: the same seed gives the same scans').default(42).argParser((v) => Number.parseInt(v, 10)))
  .addOption(new Option('--assets <n>', 'assets per scan').default(50).argParser((v) => Number.parseInt(v, 10)))
  .action((o) => exitWith(produce(o)));

program.command('replay')
  .description('feed archived scan files back through the bridge, re-stamped with the current time')
  .argument('<dir>', 'folder of archived .arrow scan files (searched recursively)')
  .option('--speed <x>', 'time factor: 1 as recorded, 10 ten times faster, "max" as fast as possible', '1')
  .option('--dir <path>', 'scan folder to write into (default: scans.dir)')
  .action((from: string, o: { speed: string; dir?: string }) => exitWith(replay(from, o)));

program.command('test')
  .description('typecheck, then run every test; extra arguments go to vitest (a file, -t <name>, --project unit)')
  .option('--no-typecheck', 'skip the typecheck')
  .allowUnknownOption()
  .argument('[vitest-args...]')
  .action((args: string[], o: { typecheck: boolean }) => exitWith(test(args, o)));

const member = program.command('member').description('the Hazelcast member on its own');
member.command('start')
  .description('run a member in the foreground')
  .addOption(new Option('--port <port>').argParser((v) => Number.parseInt(v, 10)))
  .option('--cluster <name>', 'cluster name (default: hazelcast.clusterName)')
  .option('--members <list>', 'host:port,... to join (default: this member alone)')
  .action((o) => exitWith(memberStart(o)));
member.command('jar').description('print the member jar path, fetching it first if needed').action(() => exitWith(memberJar()));

program.command('bench')
  .description(`run a benchmark; it writes bench/results/<name>.json (one of: ${benchNames().join(', ')})`)
  .argument('<name>')
  .argument('[args...]', "the benchmark's own options after --, e.g. `dolphin bench e2e -- --only 100 --seconds 60`")
  .option('--quick', 'a run of under a minute', false)
  .action((name: string, args: string[], o: { quick: boolean }) => exitWith(bench(name, o.quick, args)));

program.command('doctor').description('check the toolchain, the jar, the config and the cluster').action(() => exitWith(doctor()));

await program.parseAsync();
