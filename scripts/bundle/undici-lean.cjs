'use strict';
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, as undici's own modules it picks */
/**
 * The CLI bundle's `undici` (rolldown.config.js resolves the harness's
 * `import … from 'undici'` here): the names the harness uses, from the
 * modules of undici that define them. undici's index loads all of undici —
 * fetch, WebSocket, EventSource, caches, mocks — ~120 ms of CPU a process
 * (measured with process.cpuUsage around require) for a CLI run that needs
 * its Pool and Agent (~40 ms). Anything else is read from the full index on
 * first use. test/unit/undici-lean.test.ts checks this file exports every
 * name the harness imports from undici, as undici's index does.
 */
const Pool = require('undici/lib/dispatcher/pool');
const Agent = require('undici/lib/dispatcher/agent');
const buildConnector = require('undici/lib/core/connect');
const { parseHeaders, headerNameToString } = require('undici/lib/core/util');

module.exports = {
  Pool,
  Agent,
  buildConnector,
  util: { parseHeaders, headerNameToString },
  // request() dispatches through undici's global dispatcher, which the full index sets up.
  get request() {
    return require('undici').request;
  },
};
