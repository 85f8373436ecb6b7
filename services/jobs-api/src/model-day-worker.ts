// A worker thread of the pool: model-days in, outcomes out. Each task arrives as its own
// structured-clone copy, so parallel model-days share no objects.
import { parentPort } from 'node:worker_threads';
import { executeModelDay, type ModelDayTask } from './model-day-task.ts';

parentPort?.on('message', (msg: { id: number; task: ModelDayTask }) => {
  const t0 = performance.now();
  void executeModelDay(msg.task).then((outcome) => parentPort?.postMessage({ id: msg.id, outcome, ms: performance.now() - t0 }));
});
