/**
 * The network between a Redis primary and one replica, as a TCP relay the
 * harness controls (toxiproxy's latency and timeout toxics, for one link):
 *
 *   replica ──REPLICAOF──▶ link (127.0.0.1:L) ──▶ primary
 *            ◀── replication stream, delayed ──
 *
 * - `setDelay(ms)`: every byte the primary sends reaches the replica `ms`
 *   later (replica lag, as a busy network or a slow replica has);
 * - `hold()` / `release()`: nothing flows either way (a partition of the
 *   primary from its replica); TCP just stalls, as on a real cut;
 * - when the primary's side closes (it was killed), what the link still
 *   holds is dropped: those writes never reach the replica, exactly the
 *   acknowledged writes an asynchronous failover loses.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ReplicationLink {
  /** The address the replica replicates from. */
  readonly port: number;
  /** The primary's port behind the link. */
  readonly primaryPort: number;
  readonly delayMs: number;
  readonly held: boolean;
  setDelay(ms: number): void;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

interface Pipe {
  replica: Socket;
  primary: Socket;
  /** Chunks from the primary, each due at a time. */
  queue: { due: number; chunk: Buffer }[];
  /** Chunks from the replica, held while the link is. */
  upQueue: Buffer[];
  timer: NodeJS.Timeout | undefined;
}

export async function startReplicationLink(primaryPort: number): Promise<ReplicationLink> {
  let delayMs = 0;
  let held = false;
  const pipes = new Set<Pipe>();

  const flush = (pipe: Pipe) => {
    pipe.timer = undefined;
    if (held) return;
    const now = Date.now();
    while (pipe.queue.length && pipe.queue[0].due <= now) pipe.replica.write(pipe.queue.shift()!.chunk);
    if (pipe.queue.length) pipe.timer = setTimeout(() => flush(pipe), Math.max(1, pipe.queue[0].due - now));
  };
  const flushUp = (pipe: Pipe) => {
    if (held) return;
    for (const chunk of pipe.upQueue.splice(0)) pipe.primary.write(chunk);
  };

  const server: Server = createServer((replica) => {
    const primary = connect(primaryPort, '127.0.0.1');
    const pipe: Pipe = { replica, primary, queue: [], upQueue: [], timer: undefined };
    pipes.add(pipe);
    const end = () => {
      if (pipe.timer) clearTimeout(pipe.timer);
      // Whatever the primary sent that is still in the link never arrives.
      pipe.queue.length = 0;
      pipe.upQueue.length = 0;
      replica.destroy();
      primary.destroy();
      pipes.delete(pipe);
    };
    primary.on('data', (chunk: Buffer) => {
      pipe.queue.push({ due: Date.now() + delayMs, chunk });
      if (!pipe.timer) flush(pipe);
    });
    replica.on('data', (chunk: Buffer) => {
      pipe.upQueue.push(chunk);
      flushUp(pipe);
    });
    primary.on('close', end);
    replica.on('close', end);
    primary.on('error', end);
    replica.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | undefined;

  return {
    port,
    primaryPort,
    get delayMs() {
      return delayMs;
    },
    get held() {
      return held;
    },
    setDelay(ms: number) {
      delayMs = Math.max(0, ms);
    },
    hold() {
      held = true;
      for (const pipe of pipes) {
        if (!pipe.timer) continue;
        clearTimeout(pipe.timer);
        pipe.timer = undefined;
      }
    },
    release() {
      held = false;
      for (const pipe of pipes) {
        flushUp(pipe);
        flush(pipe);
      }
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const pipe of pipes) {
          if (pipe.timer) clearTimeout(pipe.timer);
          pipe.replica.destroy();
          pipe.primary.destroy();
        }
        pipes.clear();
        server.close(() => resolve());
      })),
  };
}
