/**
 * The container watchdog process (started by ./watchdog.ts). It holds the
 * harness's pipe on its stdin; when the pipe closes — the harness finished,
 * crashed or was killed with SIGKILL — it removes every container labelled
 * with the harness's owner id, and exits.
 *
 *   harness ──stdin pipe──▶ watchdog ──(pipe closed)──▶ docker rm -f <owner's containers>
 *
 * A container can still be being created when the harness dies, so it sweeps
 * until two passes in a row find nothing, within a bounded time.
 */
import { timeoutBudgetMs } from '../util/budget.js';
import { LABEL_OWNER, dockerClient } from './engine.js';

const owner = process.argv[2];
if (!owner) {
  process.stderr.write('usage: watchdog-main.js OWNER_ID\n');
  process.exit(2);
}

// Its own process group: the terminal's Ctrl-C is the harness's to handle.
for (const signal of ['SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});

async function sweep(): Promise<void> {
  const engine = await dockerClient();
  // Twice the time budget (inherited SLAB_BUDGET_MS): a creation in flight when the harness died lands within it.
  const deadline = Date.now() + 2 * timeoutBudgetMs();
  let emptyPasses = 0;
  while (emptyPasses < 2 && Date.now() < deadline) {
    const found = await engine.container.dockerode.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${owner}`] } });
    if (found.length === 0) emptyPasses++;
    else emptyPasses = 0;
    await Promise.all(found.map((info) => engine.container.getById(info.Id).remove({ force: true, v: true }).catch(() => undefined)));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

process.stdin.on('data', () => {});
process.stdin.once('close', () => {
  sweep()
    .catch((error: Error) => process.stderr.write(`session-lab container watchdog: ${error.message}\n`))
    .finally(() => process.exit(0));
});
