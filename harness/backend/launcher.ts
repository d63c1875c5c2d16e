/**
 * How a cluster gets its app servers. A launcher starts one replica from a
 * spec and hands back a StartedBackend; the cluster does not care whether
 * that is a forked reference server, the user's own command or a container.
 *
 *   startCluster ──▶ launcher.start({ name: 'app-2', config, env }) ──▶ StartedBackend
 */
import type { BackendConfig } from '../../servers/config.js';
import { startBackend, type BackendLogLine, type StartedBackend } from './backend-process.js';

export interface BackendSpec {
  /** `app-N`, from 1. */
  name: string;
  /** N - 1. */
  index: number;
  /** The reference server's settings (sessions, store, key prefix). */
  config: BackendConfig;
  /**
   * What a foreign app is told, as environment: BACKEND_ID, HOST=127.0.0.1,
   * and the store's variables (REDIS_URL …) when the run has one. The
   * launcher adds PORT.
   */
  env: Record<string, string>;
  onLog: (line: BackendLogLine) => void;
  /** A brand-new process, never one kept warm from an earlier cluster: set by a restart. */
  fresh?: boolean;
}

export interface BackendLauncher {
  /** `reference`, `command`, `container` … for the topology and messages. */
  readonly kind: string;
  start(spec: BackendSpec): Promise<StartedBackend>;
}

/** The bundled reference server (servers/app.ts): forked with its config, or a warm process given it (warm-pool.ts). */
export const referenceLauncher: BackendLauncher = {
  kind: 'reference',
  start: ({ config, onLog, fresh }) => startBackend({ config, onLog, fresh }),
};

/** The environment every replica gets, whatever launches it. */
export function backendEnv(name: string, storeEnv: Record<string, string>): Record<string, string> {
  return { BACKEND_ID: name, HOST: '127.0.0.1', ...storeEnv };
}
