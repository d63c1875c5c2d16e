/**
 * The container watchdog process (started by ./watchdog.ts). It holds the
 * harness's pipe on its stdin; when the pipe closes — the harness finished,
 * crashed or was killed with SIGKILL — it removes every container labelled
 * with the harness's owner id, and exits.
 *
 *   harness ──stdin pipe──▶ watchdog ──(pipe closed)──▶ docker rm -f <owner's containers>
 *
 * The harness says on the pipe whether a container may still exist (the
 * last word wins: "dirty", or "clean" once it removed every one itself). A
 * pipe that closes after "clean" needs no sweep, so the Docker client
 * (testcontainers, ~0.6 s of CPU to load) is only imported when there may
 * be something to sweep: no word, or "dirty", as after a crash or SIGKILL.
 *
 * A container can still be being created when the harness dies, so it sweeps
 * until two passes in a row find nothing, within a bounded time.
 */
import { createInterface } from 'node:readline';
import { timeoutBudgetMs } from '../util/budget.js';

const owner = process.argv[2];
if (!owner) {
  process.stderr.write('usage: watchdog-main.js OWNER_ID\n');
  process.exit(2);
}

// Its own process group: the terminal's Ctrl-C is the harness's to handle.
for (const signal of ['SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});

/** Removes the owner's containers; how many it removed. */
async function sweep(): Promise<number> {
  const { LABEL_OWNER, dockerClient } = await import('./engine.js');
  const engine = await dockerClient();
  // Twice the time budget (inherited SLAB_BUDGET_MS): a creation in flight when the harness died lands within it.
  const deadline = Date.now() + 2 * timeoutBudgetMs();
  let emptyPasses = 0;
  const removed = new Set<string>();
  while (emptyPasses < 2 && Date.now() < deadline) {
    const found = await engine.container.dockerode.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${owner}`] } });
    if (found.length === 0) emptyPasses++;
    else emptyPasses = 0;
    await Promise.all(
      found.map((info) =>
        engine.container
          .getById(info.Id)
          .remove({ force: true, v: true })
          .then(() => removed.add(info.Id))
          .catch(() => undefined),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return removed.size;
}

// The last word the harness said; none means a container may exist.
let word: string | undefined;
const pipe = createInterface({ input: process.stdin });
pipe.on('line', (line) => {
  word = line.trim();
});
// readline closes once the pipe has ended, after its last line.
pipe.once('close', () => {
  if (word === 'clean') process.exit(0);
  sweep()
    .then((count) => {
      if (count > 0) process.stderr.write(`session-lab container watchdog: removed ${count} container(s) that harness ${owner} left behind\n`);
    })
    .catch((error: Error) => process.stderr.write(`session-lab container watchdog: ${error.message}\n`))
    .finally(() => process.exit(0));
});
