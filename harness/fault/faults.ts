import { HarnessError } from '../errors.js';
import { allowCookies } from './allow-cookies.js';
import { capCookie } from './cap-cookie.js';
import { dropCookie } from './drop-cookie.js';
import { dropForwardedProto } from './drop-forwarded-proto.js';
import type { CookieFault, FaultDefinition } from './fault.js';
import { mergeSetCookie } from './merge-set-cookie.js';
import { stripCookie } from './strip-cookie.js';
import { stripSetCookie } from './strip-set-cookie.js';

/** Every cookie fault the balancer can inject, by name. */
export const FAULTS: readonly FaultDefinition[] = [stripCookie, stripSetCookie, dropCookie, allowCookies, capCookie, mergeSetCookie, dropForwardedProto];

export const FAULT_USAGE = FAULTS.map((fault) => fault.usage).join(', ');

/**
 * Parses `NAME[=VALUE][@PROBABILITY]`, e.g. `strip-set-cookie`,
 * `drop-cookie=sid@0.25`, `cap-cookie=8192:431`.
 */
export function parseFault(spec: string, where = '--fault'): CookieFault {
  const match = /^([a-z-]+)(?:=([^@]*))?(?:@(.+))?$/.exec(spec.trim());
  const definition = match && FAULTS.find((fault) => fault.name === match[1]);
  if (!match || !definition) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `${where}: unknown fault ${JSON.stringify(spec)}: expected one of ${FAULT_USAGE} (each may end in @PROBABILITY, e.g. strip-cookie@0.5)`,
    );
  }
  const [, name, value, probabilityText] = match;
  const probability = probabilityText === undefined ? 1 : Number(probabilityText);
  if (!(probability > 0 && probability <= 1)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: ${JSON.stringify(spec)}: probability must be a number in (0, 1], got ${JSON.stringify(probabilityText)}`);
  }
  try {
    return { spec, name, probability, ...definition.create(value === '' ? undefined : value) };
  } catch (message) {
    if (typeof message !== 'string') throw message;
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: ${JSON.stringify(spec)}: ${message}`);
  }
}
