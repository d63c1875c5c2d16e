/**
 * The private Docker engine (docker/engine.sh) and its base image, as the
 * container runtime uses them: testcontainers on host networking, every
 * address on 127.0.0.1, nothing left behind.
 */
import { expect, test } from 'vitest';
import { GenericContainer, Wait } from 'testcontainers';
import { pingRedis } from '../../harness/redis/provision.js';
import { freePort } from '../../harness/util/net.js';
import { BASE_IMAGE, describeDocker, dockerCli } from '../helpers/docker.js';

describeDocker('docker engine', () => {
  test.concurrent('the engine has no bridge network, and the base image is there', async () => {
    const networks = (await dockerCli('network', 'ls', '--format', '{{.Driver}}')).split('\n').filter(Boolean);
    expect(networks).not.toContain('bridge');
    expect((await dockerCli('image', 'ls', '-q', BASE_IMAGE)).trim()).not.toBe('');
  });

  test.concurrent("the base image runs the host's redis-server on host networking at 127.0.0.1, removed on stop", async () => {
    const port = await freePort();
    const label = `docker-engine-test-${process.pid}-${port}`;
    const container = await new GenericContainer(BASE_IMAGE)
      .withNetworkMode('host')
      .withLabels({ 'session-lab.test': label })
      .withCommand(['redis-server', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'])
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    try {
      await pingRedis(`redis://127.0.0.1:${port}`);
    } finally {
      await container.stop();
    }
    const left = (await dockerCli('ps', '-aq', '--filter', `label=session-lab.test=${label}`)).trim();
    expect(left).toBe('');
  });
});
