/**
 * One user's pass as a sequence diagram, in inline SVG: lanes client,
 * balancer, app-1…app-N, store; per request the hops
 *
 *   client ──▶ balancer ──▶ app-K ──▶ store ··▶ app-K ··▶ balancer ··▶ client
 *
 * each labelled with the cookie it carried (session ids hashed), the reset
 * rows highlighted with their verdict, and the cluster's events (scheduled
 * faults) drawn across all lanes where they happened in time.
 *
 * Generated here rather than with Mermaid: the report must open with no
 * network and no script, and Mermaid renders in the browser (megabytes of
 * JS inlined) or needs a headless browser at build time; a few hundred
 * bytes of SVG per request, made by a pure function, are testable without
 * either.
 */
import type { Verdict } from '../diagnosis/diagnose.js';
import type { ClusterEvent, RequestRecord } from '../history/history.js';
import { hopView } from './hops-view.js';
import { esc } from './svg.js';

const LANE_GAP = 200;
const LEFT = 90;
const TOP = 40;
const ARROW = 18;
const HEADER = 20;

export interface DiagramInput {
  records: RequestRecord[];
  /** Verdicts of this pass, by `browser/step`. */
  resets: Map<string, Verdict>;
  events: ClusterEvent[];
  backends: string[];
  store: string;
  sessionCookie: string;
  /** Epoch ms the times on the axis count from. */
  origin: number;
}

export function evidenceText(verdict: Verdict): string {
  return typeof verdict.evidence === 'string' ? verdict.evidence : JSON.stringify(verdict.evidence);
}

export function sequenceDiagram(input: DiagramInput): string {
  const lanes = ['client', 'balancer', ...input.backends, `store (${input.store})`];
  const x = (lane: string) => LEFT + lanes.indexOf(lane) * LANE_GAP;
  const storeLane = lanes[lanes.length - 1];
  const records = [...input.records].sort((a, b) => a.time - b.time || a.step - b.step);
  const events = [...input.events].sort((a, b) => a.time - b.time);
  const parts: string[] = [];
  let y = TOP + 10;

  const arrow = (from: string, to: string, label: string, className: string) => {
    const x1 = x(from);
    const x2 = x(to);
    const dir = x2 > x1 ? 1 : -1;
    const labelX = Math.min(x1, x2) + 6;
    parts.push(
      `<line class="hop ${className}" x1="${x1}" y1="${y}" x2="${x2 - dir * 4}" y2="${y}" marker-end="url(#arrow)"/>` + `<text class="hop-label" x="${labelX}" y="${y - 3}">${esc(label)}</text>`,
    );
    y += ARROW;
  };
  const eventLine = (event: ClusterEvent) => {
    const detail = event.detail ?? `${event.kind}${event.backend ? ` ${event.backend}` : ''}`;
    parts.push(
      `<g class="event" data-kind="${esc(event.kind)}"><line x1="${LEFT - 20}" y1="${y}" x2="${x(storeLane) + 20}" y2="${y}"/>` +
        `<text class="event-label" x="${LEFT + 6}" y="${y - 4}">⚡ +${esc(event.time - input.origin)} ms: ${esc(detail)}${event.fault ? ` (fault ${esc(event.fault)})` : ''}</text></g>`,
    );
    y += HEADER;
  };

  let nextEvent = 0;
  for (const record of records) {
    while (nextEvent < events.length && events[nextEvent].time <= record.time) eventLine(events[nextEvent++]);
    const verdict = input.resets.get(`${record.browser}/${record.step}`);
    const hops = hopView(record, input.sessionCookie);
    const backend = record.proxy?.backend ?? record.backend;
    const top = y;
    const rowParts = parts.length;
    y += HEADER + 12;
    arrow('client', 'balancer', hops.request, 'request');
    if (backend && lanes.includes(backend) && hops.forwarded !== undefined) {
      arrow('balancer', backend, hops.forwarded, 'request');
      if (hops.store) arrow(backend, storeLane, hops.store, 'store');
      if (hops.backendAnswer) arrow(backend, 'balancer', hops.backendAnswer, 'response');
    }
    arrow('balancer', 'client', hops.answer, 'response');
    for (const fault of hops.faults) {
      parts.push(`<text class="fault-label" x="${x('balancer') + 6}" y="${y + 1}">fault ${esc(fault)}</text>`);
      y += ARROW;
    }
    const browser = record.browser > 1 ? ` (browser ${record.browser})` : '';
    const header =
      `<text class="step-label" x="4" y="${top + 14}">+${record.time - input.origin} ms</text>` +
      `<text class="step-label" x="${LEFT + 6}" y="${top + 14}">step ${record.step}: ${esc(record.stepName)}${browser}</text>`;
    if (verdict) {
      const mark =
        `<g class="reset" data-step="${record.step}" data-cause="${esc(verdict.cause)}">` +
        `<rect class="reset-band" x="2" y="${top}" width="${x(storeLane) + 40}" height="${y - top + 2}"/>` +
        `<text class="reset-label" x="${x(storeLane) - 10}" y="${top + 14}" text-anchor="end">RESET — cause: ${esc(verdict.cause)}${verdict.expected ? ' (expected)' : ''}</text></g>`;
      parts.splice(rowParts, 0, mark + header);
    } else {
      parts.splice(rowParts, 0, header);
    }
    y += 6;
  }
  while (nextEvent < events.length) eventLine(events[nextEvent++]);

  const height = y + 10;
  const width = x(storeLane) + 60;
  const laneLines = lanes
    .map((lane) => `<text class="lane-label" x="${x(lane)}" y="20" text-anchor="middle">${esc(lane)}</text><line class="lane" x1="${x(lane)}" y1="28" x2="${x(lane)}" y2="${height - 5}"/>`)
    .join('');
  return (
    `<svg class="sequence" role="img" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
    laneLines +
    parts.join('') +
    `</svg>`
  );
}
