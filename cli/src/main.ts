import { Command, Option } from 'commander';
import { isDolphinError } from '@dolphin/core';
import { up } from './commands/up.ts';
import { test } from './commands/test.ts';
import { memberStart, memberJar } from './commands/member.ts';
import { doctor } from './commands/doctor.ts';
import { bench, benchNames } from './commands/bench.ts';
import { produce, replay } from './commands/produce.ts';
import { down, restart, status } from './commands/ctl.ts';
import { logs } from './commands/logs.ts';
import { health } from './commands/health.ts';
import { service } from './commands/service.ts';
import { generate, UNIT_DIR, verify } from './commands/systemd.ts';
import { firewallApply, firewallPrint } from './commands/firewall.ts';
import { applyUmask } from '@dolphin/service-kit';

// What dolphin writes (logs, run files, state, and every child it starts) is 0640 / 0750.
applyUmask();

const program = new Command('dolphin')
  .description('Dolphin: event-driven trading signals on Hazelcast')
  .showHelpAfterError()
  .addHelpText('after', `
Examples:
  ./dolphin up --demo          run everything on a local member with the demo scan producer
  ./dolphin status             every process: state, pid, uptime, restarts, cpu, memory, health
  ./dolphin health --watch     rm_meta, the five sensors, processes and data sources, live
  ./dolphin logs event-trader -f
  ./dolphin restart scan-bridge
  ./dolphin down               stop everything a running ./dolphin up started
  ./dolphin backtest --config demo.json --dates 2026-12-01..2026-12-02
  ./dolphin daily [--date 2026-12-02]   the daily batch now: yesterday's backtest and paper-trading report
  ./dolphin jobs               recent backtest jobs and day reports
  ./dolphin test               typecheck, then every unit and integration test
  ./dolphin test test/integration/cluster.test.ts
  HZ_MEMBERS=hz1:5701,hz2:5701 ./dolphin up   join an existing cluster instead of starting a member
  sudo ./dolphin firewall apply   only the dolphin user and root may connect to the member port (nftables)

Configuration: config/dolphin.json, config/dolphin.<env>.json (DOLPHIN_ENV=dev|test|prod),
then DOLPHIN__section__key=value environment variables. Docs: docs/operations.md`);

const exitWith = (p: Promise<number> | number) => Promise.resolve(p).then((code) => process.exit(code), (err: unknown) => {
  console.error(`dolphin: ${(err as Error).message}`);
  process.exit(isDolphinError(err, 'DOLPHIN_CONFIG_INVALID') ? 78 : 1);
});

program.command('up')
  .description('run the registry under the supervisor: a local Hazelcast member (unless HZ_MEMBERS is set), then every service; Ctrl-C or dolphin down stops all')
  .option('--demo', 'also run the demo scan producer', false)
  .addOption(new Option('--port <port>', 'member port (default: member.port, 5701)').argParser((v) => Number.parseInt(v, 10)))
  .addOption(new Option('--rate <scans-per-s>', 'demo producer rate').default(0.2).argParser(Number.parseFloat))
  .option('--host <name>', 'this machine in the cluster file (or DOLPHIN_HOST): its member binds to the host\'s address, only what is placed here runs')
  .option('--cluster <file>', 'the cluster file (or DOLPHIN_CLUSTER_FILE): hosts, addresses, placement, colours (config/cluster.example.json)')
  .action((o: { demo: boolean; port?: number; rate: number; host?: string; cluster?: string }) => exitWith(up(o)));

program.command('dev')
  .description('run like up, and watch the sources: a saved change restarts exactly the services that load it (and their dependents) as fresh processes carrying their state; a file that does not compile changes nothing')
  .argument('[services...]', 'only these services and what they depend on (default: all)')
  .option('--demo', 'also run the demo scan producer', false)
  .addOption(new Option('--port <port>', 'member port (default: member.port, 5701)').argParser((v) => Number.parseInt(v, 10)))
  .addOption(new Option('--rate <scans-per-s>', 'demo producer rate').default(0.2).argParser(Number.parseFloat))
  .addOption(new Option('--on-crash <what>', 'a service that crashes: wait for the next change, or restart it with backoff').choices(['wait', 'backoff']).default('wait'))
  .action((services: string[], o: { demo: boolean; port?: number; rate: number; onCrash: 'wait' | 'backoff' }) => exitWith(up({ ...o, dev: { services, onCrash: o.onCrash } })));

program.command('down')
  .description('stop everything a running `dolphin up` started (dependents first) and wait for it')
  .action(() => exitWith(down()));

program.command('status')
  .description('the processes of a running `dolphin up`: state, pid, uptime, restarts, cpu, memory, tasks, health')
  .option('--json', 'the supervisor\'s status as JSON', false)
  .action((o: { json: boolean }) => exitWith(status(o)));

program.command('restart')
  .description('restart one service of a running `dolphin up` and wait until it is ready (clears FAILED)')
  .argument('<service>', 'a name from the registry, e.g. scan-bridge')
  .action((name: string) => exitWith(restart(name)));

program.command('health')
  .description("meta-health's latest: rm_meta and its status, the five sensors, every process and data source, recovery")
  .option('--json', 'the record as JSON (DOLPHIN_META_HEALTH["latest"])', false)
  .option('--watch', 'print it again on every update until Ctrl-C', false)
  .option('--reset [target]', 'clear the recovery budget of one target (or all) after a person fixed the cause')
  .addHelpText('after', '\nExit status: 0 GREEN, 1 otherwise, 3 when there is no health to read.')
  .action((o: { json: boolean; watch: boolean; reset?: string | boolean }) => exitWith(health(o)));

program.command('logs')
  .description("print a service's log (.dolphin/logs/<service>.log)")
  .argument('<service>')
  .addOption(new Option('-n, --lines <n>', 'lines from the end').default(50).argParser((v) => Number.parseInt(v, 10)))
  .option('-f, --follow', 'keep printing new lines (across rotations) until Ctrl-C', false)
  .action((name: string, o: { lines: number; follow: boolean }) => exitWith(logs(name, o)));

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

program.command('backtest')
  .description('run a backtest job without the API server, into the jobs database: progress bar, then a summary per model')
  .requiredOption('--config <file>', 'a backtest config (a file, or a name in jobs.configsDir, e.g. demo.json)')
  .requiredOption('--dates <dates>', 'YYYY-MM-DD, a list a,b,c, or a range a..b')
  .option('--models <list>', "signatures to run (default: the config's enabled models)")
  .option('--json', 'print the result as JSON', false)
  .action(async (o: { config: string; dates: string; models?: string; json: boolean }) => {
    // Loaded only for this command: the jobs API's modules stay out of every other command's start.
    const { backtest } = await import('./commands/backtest.ts');
    return exitWith(backtest(o));
  });

program.command('daily')
  .description("the daily batch, as its timer runs it: the configured backtest (jobs.daily) of a day through the jobs API, and the paper trader's report of that day from its ledger, stored in the jobs database")
  .option('--date <YYYY-MM-DD>', 'the UTC day (default: yesterday)')
  .addOption(new Option('--wait-api <s>', 'wait this long for the jobs API to answer first').default(30).argParser(Number.parseFloat))
  .addHelpText('after', '\nExit status: 0 done; 1 the backtest failed, was partial or did not finish in jobs.daily.timeoutS (the report is stored all the same); 2 a bad --date; 66 no live ledger; 69 the jobs API does not answer; 78 the token or the configured backtest refused.')
  .action(async (o: { date?: string; waitApi: number }) => {
    const { daily } = await import('./commands/daily.ts');
    return exitWith(daily({ ...(o.date ? { date: o.date } : {}), waitApiS: o.waitApi }));
  });

program.command('jobs')
  .description('the jobs API\'s recent backtest jobs and the day reports of the daily batch')
  .option('--json', 'both lists as JSON', false)
  .addOption(new Option('-n, --limit <n>', 'day reports to list').default(14).argParser((v) => Number.parseInt(v, 10)))
  .action(async (o: { json: boolean; limit: number }) => {
    const { jobsCommand } = await import('./commands/jobs.ts');
    return exitWith(jobsCommand(o));
  });

program.command('service')
  .description('become one service of the registry (exec): what a systemd unit runs')
  .argument('<name>')
  .argument('[args...]')
  .action((name: string, args: string[]) => exitWith(service(name, args)));

const systemd = program.command('systemd').description('the production units, generated from the service registry');
systemd.command('generate')
  .description('write one unit per registry entry and dolphin.target (config + config/dolphin.prod.json)')
  .option('--out <dir>', 'where to write them', UNIT_DIR)
  .option('--prefix <dir>', 'where the checkout is installed', '/opt/dolphin')
  .option('--user <name>', 'the unprivileged user they run as', 'dolphin')
  .action((o: { out: string; prefix: string; user: string }) => exitWith(generate(o)));
systemd.command('verify')
  .description(`systemd-analyze verify, and security: every unit's exposure must be 2.0 or lower`)
  .option('--dir <dir>', 'the units to check', UNIT_DIR)
  .action((o: { dir: string }) => exitWith(verify(o)));

const firewall = program.command('firewall').description('nftables rules: only the dolphin user (and root) may connect to the member port (Hazelcast Community has no authentication)');
const firewallOptions = (c: Command) => c
  .option('--user <names>', 'users (names or uids, comma-separated) allowed besides root', 'dolphin')
  .addOption(new Option('--port <port>', 'the member port (default: member.port, and the ports of hazelcast.members)').argParser((v) => Number.parseInt(v, 10)))
  .option('--members <list>', 'host:port,... of the cluster (IP addresses; default: hazelcast.members)');
firewallOptions(firewall.command('print').description('print the ruleset (for nft -f)'))
  .action((o: { user: string; port?: number; members?: string }) => exitWith(firewallPrint(o)));
firewallOptions(firewall.command('apply').description('apply it with nft -f - (as root); it replaces only its own table, inet dolphin_member'))
  .action((o: { user: string; port?: number; members?: string }) => exitWith(firewallApply(o)));

program.command('doctor').description('check the toolchain, the jar, the config and the cluster').action(() => exitWith(doctor()));

program.command('install')
  .description('install Dolphin as systemd services on this machine (as root): user, code and toolchain at the prefix, /etc/dolphin, units, enabled and started; re-running it applies changes and changes nothing else')
  .option('--prefix <dir>', 'where the code and its toolchain go (root\'s, read-only to the services)', '/opt/dolphin')
  .option('--user <name>', 'the system user the services run as (created)', 'dolphin')
  .option('--scans <dir>', 'the folder scan files arrive in (default: scans.dir of the configuration, /var/lib/dolphin/scans)')
  .option('--dry-run', 'print what it would do, change nothing', false)
  .addOption(new Option('--wait <s>', 'how long to wait for every unit active and health GREEN').default(120).argParser(Number.parseFloat))
  .action(async (o: { prefix: string; user: string; scans?: string; dryRun: boolean; wait: number }) => {
    const { install } = await import('./commands/install.ts');
    return exitWith(install({ prefix: o.prefix, user: o.user, scans: o.scans, dryRun: o.dryRun, waitS: o.wait }));
  });
program.command('uninstall')
  .description('stop and remove what dolphin install put on this machine (as root)')
  .option('--prefix <dir>', 'the install to remove', '/opt/dolphin')
  .option('--keep-state', 'keep /etc/dolphin, /var/lib/dolphin and the user (a later install picks them up)', false)
  .action(async (o: { prefix: string; keepState: boolean }) => {
    const { uninstall } = await import('./commands/install.ts');
    return exitWith(uninstall(o));
  });

await program.parseAsync();
