/**
 * Balancer configs from templates: the files in docker/nginx/ and
 * docker/haproxy/ (the same ones the compose topology uses), or the user's
 * own (--balancer-config), with `{{name}}` placeholders for what only the
 * run knows: the listen address, the upstream servers, a temp folder.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../util/paths.js';

export const TEMPLATE_DIR = join(PACKAGE_ROOT, 'docker');
export const NGINX_TEMPLATE = join(TEMPLATE_DIR, 'nginx', 'nginx.conf.template');
export const HAPROXY_TEMPLATE = join(TEMPLATE_DIR, 'haproxy', 'haproxy.cfg.template');

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** The placeholder names a template uses outside comment lines, each once, in order. */
export function placeholdersOf(text: string): string[] {
  const code = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  return [...new Set([...code.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

export interface RenderedConfig {
  text: string;
  /** For each line of `text` (index 0 = line 1), the template's line number it came from. */
  sourceLine: number[];
}

/**
 * Replaces every `{{name}}` by its value. A value of several lines keeps the
 * placeholder line's indentation on each. Unknown names are left to the
 * caller (placeholdersOf) to refuse before rendering.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): RenderedConfig {
  const out: string[] = [];
  const sourceLine: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trimStart().startsWith('#')) {
      out.push(line);
      sourceLine.push(index + 1);
      return;
    }
    const indent = /^\s*/.exec(line)![0];
    const rendered = line.replace(PLACEHOLDER, (whole, name: string) => (name in values ? values[name].split('\n').join(`\n${indent}`) : whole));
    for (const piece of rendered.split('\n')) {
      out.push(piece);
      sourceLine.push(index + 1);
    }
  });
  return { text: out.join('\n'), sourceLine };
}

/**
 * A balancer's message about the rendered file, made to point at the
 * template the user wrote: `/tmp/…/nginx.conf:12` becomes `my.conf:9`.
 */
export function pointAtSource(message: string, renderedPath: string, sourcePath: string, sourceLine: readonly number[]): string {
  const escaped = renderedPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`${escaped}(?::(\\d+))?`, 'g'), (_whole, line: string | undefined) => (line === undefined ? sourcePath : `${sourcePath}:${sourceLine[Number(line) - 1] ?? line}`));
}
