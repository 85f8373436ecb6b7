import path from 'node:path';
import { REPO_ROOT } from '@dolphin/hz';

/** Where `dolphin up` keeps its run files, logs and state (under the checkout, git-ignored). */
export const RUN_DIR = process.env.DOLPHIN_RUN_DIR ?? path.join(REPO_ROOT, '.dolphin');
export const LOG_DIR = path.join(RUN_DIR, 'logs');
export const UP_PID_FILE = path.join(RUN_DIR, 'run', 'up.pid');
/** The running supervisor's pid, control port and token (mode 0600). */
export const SUPERVISOR_RUN_FILE = path.join(RUN_DIR, 'run', 'supervisor.json');
export { REPO_ROOT };
