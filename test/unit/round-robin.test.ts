import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { BALANCER_NAMES, createStrategy } from '../../harness/balancer/strategies.js';
import type { BalancerTarget } from '../../harness/balancer/strategy.js';

const targets: BalancerTarget[] = ['app-1', 'app-2', 'app-3'].map((name, index) => ({ name, url: `http://127.0.0.1:${1000 + index}`, index }));
const req = {} as IncomingMessage;

describe('round-robin strategy', () => {
  test('visits every backend in turn, whoever asks', () => {
    const strategy = createStrategy('round-robin');
    const picked = Array.from({ length: 7 }, () => strategy.pick(req, targets).name);
    expect(picked).toEqual(['app-1', 'app-2', 'app-3', 'app-1', 'app-2', 'app-3', 'app-1']);
  });

  test('each balancer has its own rotation', () => {
    const a = createStrategy('round-robin');
    const b = createStrategy('round-robin');
    a.pick(req, targets);
    expect(b.pick(req, targets).name).toBe('app-1');
  });

  test('is registered under its command-line name', () => {
    expect(BALANCER_NAMES).toContain('round-robin');
  });
});
