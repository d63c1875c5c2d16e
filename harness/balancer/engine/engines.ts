import { HarnessError } from '../../errors.js';
import { ENGINE_NAMES, type EngineName, type ForwardingEngine } from './engine.js';
import { createHttpProxyEngine } from './http-proxy-engine.js';
import { createUndiciEngine } from './undici-engine.js';

const FACTORIES: Record<EngineName, () => ForwardingEngine> = {
  undici: createUndiciEngine,
  'http-proxy': createHttpProxyEngine,
};

export function isEngineName(name: unknown): name is EngineName {
  return typeof name === 'string' && (ENGINE_NAMES as readonly string[]).includes(name);
}

export function createEngine(name: EngineName): ForwardingEngine {
  if (!isEngineName(name)) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `proxyEngine: expected one of ${ENGINE_NAMES.join(' | ')}, got ${JSON.stringify(name)}`);
  return FACTORIES[name]();
}
