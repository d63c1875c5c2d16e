/**
 * What `session-lab compare --format markdown|csv|json|table` prints, on
 * built rows: the columns in order, one line per row, the causes spelled
 * out in csv, a cell with a comma quoted. (That the flag reaches the
 * printer is checked on a real comparison in architectures.test.ts.)
 */
import { describe, expect, test } from 'vitest';
import { formatComparison, type CompareRow } from '../../harness/compare/compare.js';
import { countAnomalies } from '../../harness/consistency/check.js';

function row(overrides: Partial<CompareRow>): CompareRow {
  return {
    store: 'redis',
    balancer: 'round-robin',
    fault: 'none',
    requests: 60,
    resets: 0,
    resetsByCause: { replication: 0, transmission: 0, code: 0, expiry: 0, unclassified: 0 },
    anomalies: 0,
    anomaliesByKind: countAnomalies([]),
    errors: 0,
    p50Ms: 4.2,
    p95Ms: 11,
    p99Ms: 17.5,
    rps: 812.3,
    usersReset: [],
    seed: 7,
    ...overrides,
  };
}

const ROWS: CompareRow[] = [
  row({}),
  row({
    store: 'memory',
    fault: 'kill-backend=app-1,after=20',
    resets: 5,
    resetsByCause: { replication: 4, transmission: 0, code: 0, expiry: 1, unclassified: 0 },
    errors: 2,
    faultTarget: 'app-1',
    usersOnFaultTarget: [2, 5],
    usersReset: [2, 5],
  }),
];

describe('compare --format', () => {
  test('markdown: a header of the columns, an alignment rule (numbers right), a line per row', () => {
    const lines = formatComparison(ROWS, 'markdown').split('\n');
    expect(lines).toEqual([
      '| store | balancer | fault | requests | resets | by cause | anomalies | errors | p50 ms | p95 ms | p99 ms | req/s |',
      '| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      '| redis | round-robin | none | 60 | 0 | - | 0 | 0 | 4.2 | 11.0 | 17.5 | 812 |',
      '| memory | round-robin | kill-backend=app-1,after=20 | 60 | 5 | replication 4, expiry 1 | 0 | 2 | 4.2 | 11.0 | 17.5 | 812 |',
    ]);
  });

  test('csv: a column per cause, numbers as they are, a cell holding a comma quoted', () => {
    const lines = formatComparison(ROWS, 'csv').split('\n');
    expect(lines).toEqual([
      'store,balancer,fault,requests,resets,resets_replication,resets_transmission,resets_code,resets_expiry,resets_unclassified,anomalies,errors,p50_ms,p95_ms,p99_ms,rps',
      'redis,round-robin,none,60,0,0,0,0,0,0,0,0,4.2,11,17.5,812.3',
      'memory,round-robin,"kill-backend=app-1,after=20",60,5,4,0,0,1,0,0,2,4.2,11,17.5,812.3',
    ]);
  });

  test('json: the rows whole, with the fault target and the users on it', () => {
    expect(JSON.parse(formatComparison(ROWS, 'json'))).toEqual(ROWS);
  });

  test('table: the same columns, aligned, a line per row', () => {
    const lines = formatComparison(ROWS, 'table').split('\n');
    expect(lines[0]).toMatch(/^store +balancer +fault +requests +resets +by cause +anomalies +errors +p50 ms +p95 ms +p99 ms +req\/s$/);
    const body = lines.filter((line) => /^(redis|memory) /.test(line));
    expect(body).toHaveLength(2);
    expect(body[1]).toMatch(/^memory +round-robin +kill-backend=app-1,after=20 +60 +5 +replication 4, expiry 1 +0 +2 +4\.2 +11\.0 +17\.5 +812$/);
  });
});
