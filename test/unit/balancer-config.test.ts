/** Balancer config templates: placeholders filled in, the user's line numbers kept in the balancer's messages. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { HAPROXY_TEMPLATE, NGINX_TEMPLATE, placeholdersOf, pointAtSource, renderTemplate } from '../../harness/balancer/config-template.js';

describe('config templates', () => {
  test('the shipped templates use only the placeholders the harness fills, and both required ones', () => {
    for (const file of [NGINX_TEMPLATE, HAPROXY_TEMPLATE]) {
      const used = placeholdersOf(readFileSync(file, 'utf8'));
      expect(used).toEqual(expect.arrayContaining(['listen', 'servers', 'balance', 'listen_tls']));
      for (const name of used) expect(['listen', 'listen_tls', 'servers', 'balance', 'prefix']).toContain(name);
    }
  });

  test('placeholders in comment lines are neither counted nor required', () => {
    expect(placeholdersOf('# {{nothing}}\nlisten {{listen}};\n')).toEqual(['listen']);
  });

  test('a value of several lines keeps the placeholder line indentation, and each line maps back to its source line', () => {
    const rendered = renderTemplate('backend app\n  {{servers}}\n  option x\n', { servers: 'server a 1\nserver b 2' });
    expect(rendered.text).toBe('backend app\n  server a 1\n  server b 2\n  option x\n');
    expect(rendered.sourceLine).toEqual([1, 2, 2, 3, 4]);
  });

  test("a balancer's message about the rendered file points at the user's file and line", () => {
    const { sourceLine } = renderTemplate('a\n{{servers}}\nbogus\n', { servers: 'x\ny\nz' });
    const said = pointAtSource('parsing [/tmp/p/haproxy.cfg:5] : unknown keyword; configuration file /tmp/p/haproxy.cfg', '/tmp/p/haproxy.cfg', 'mine.cfg', sourceLine);
    expect(said).toBe('parsing [mine.cfg:3] : unknown keyword; configuration file mine.cfg');
  });
});
