/**
 * Every error the harness raises on purpose: a stable `code` for programs
 * and tests, the concrete values in the message for people, the low-level
 * error in `cause`. The CLI maps each code to its exit status.
 */
export type ErrorCode =
  | 'SLAB_ERR_SCENARIO_INVALID'
  | 'SLAB_ERR_SCENARIO_NOT_FOUND'
  | 'SLAB_ERR_OPTION_INVALID'
  | 'SLAB_ERR_HISTORY_INVALID'
  | 'SLAB_ERR_PLAN_CONFLICT'
  | 'SLAB_ERR_REDIS_UNAVAILABLE'
  | 'SLAB_ERR_CHROMIUM_UNAVAILABLE'
  | 'SLAB_ERR_BACKEND_START'
  | 'SLAB_ERR_APP_START'
  | 'SLAB_ERR_LISTEN'
  | 'SLAB_ERR_INTERRUPTED'
  | 'SLAB_ERR_DOCKER_UNAVAILABLE'
  | 'SLAB_ERR_IMAGE_MISSING'
  | 'SLAB_ERR_CONTAINER_START'
  | 'SLAB_ERR_BINARY_MISSING'
  | 'SLAB_ERR_BALANCER_CONFIG'
  | 'SLAB_ERR_BALANCER_START';

/** Exit status for each code: 2 bad input, 3 missing environment, 130 interrupted, 1 otherwise. */
const EXIT_CODES: Record<ErrorCode, number> = {
  SLAB_ERR_SCENARIO_INVALID: 2,
  SLAB_ERR_SCENARIO_NOT_FOUND: 2,
  SLAB_ERR_OPTION_INVALID: 2,
  SLAB_ERR_HISTORY_INVALID: 2,
  SLAB_ERR_PLAN_CONFLICT: 2,
  SLAB_ERR_LISTEN: 2,
  SLAB_ERR_REDIS_UNAVAILABLE: 3,
  SLAB_ERR_CHROMIUM_UNAVAILABLE: 3,
  SLAB_ERR_BACKEND_START: 1,
  /** The user's app (a command) crashed or never got ready: its environment, not the input. */
  SLAB_ERR_APP_START: 3,
  SLAB_ERR_INTERRUPTED: 130,
  SLAB_ERR_DOCKER_UNAVAILABLE: 3,
  SLAB_ERR_IMAGE_MISSING: 3,
  SLAB_ERR_CONTAINER_START: 3,
  SLAB_ERR_BINARY_MISSING: 3,
  SLAB_ERR_BALANCER_CONFIG: 2,
  SLAB_ERR_BALANCER_START: 1,
};

export class HarnessError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
    this.code = code;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function isHarnessError(error: unknown): error is HarnessError {
  return error instanceof HarnessError;
}
