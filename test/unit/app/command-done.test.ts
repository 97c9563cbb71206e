import { describe, expect, it } from 'vitest';
import { commandFinished } from '#app/command-done.ts';
import { DEPLOYMENT_ID } from '#test/support/fixtures.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';

/** Ports with one wave of two commands sent under one token. */
async function twoCommands() {
  const ports = memoryPorts();
  const now = ports.clock.now();
  await ports.waves.addWaveCommand(DEPLOYMENT_ID, 0, 0, 'cmd-a', now);
  await ports.waves.addWaveCommand(DEPLOYMENT_ID, 0, 1, 'cmd-b', now);
  await ports.waves.putCommandTokens(DEPLOYMENT_ID, 0, ['cmd-a', 'cmd-b'], 'wave-token', now);
  return ports;
}

describe('commandFinished', () => {
  it('wakes the execution only when the last command of the wave finishes', async () => {
    const ports = await twoCommands();

    await expect(commandFinished(ports, { commandId: 'cmd-a', status: 'Success' })).resolves.toEqual({ woke: false });
    await expect(commandFinished(ports, { commandId: 'cmd-b', status: 'Failed' })).resolves.toEqual({ woke: true });

    expect(ports.callbacks.answers).toEqual([{ token: 'wave-token', output: { commandId: 'cmd-b', status: 'Failed' } }]);
  });

  it('ignores a status that does not end the command', async () => {
    const ports = await twoCommands();

    await expect(commandFinished(ports, { commandId: 'cmd-a', status: 'InProgress' })).resolves.toEqual({ woke: false });
    await commandFinished(ports, { commandId: 'cmd-b', status: 'Success' });

    expect(ports.callbacks.answers).toEqual([]);
  });

  it('wakes nothing when the execution no longer waits for the wave', async () => {
    const ports = await twoCommands();
    ports.callbacks.stale.set('wave-token', 'TaskTimedOut');
    await commandFinished(ports, { commandId: 'cmd-a', status: 'Success' });

    await expect(commandFinished(ports, { commandId: 'cmd-b', status: 'Success' })).resolves.toEqual({ woke: false });
  });

  it('ignores a command without a stored token (not sent by deployctl, or not stored yet) and leaves the wave untouched', async () => {
    const ports = await twoCommands();

    await expect(commandFinished(ports, { commandId: 'cmd-x', status: 'Success' })).resolves.toEqual({ woke: false, unknown: true });
    await commandFinished(ports, { commandId: 'cmd-a', status: 'Success' });

    expect(ports.callbacks.answers).toEqual([]);
    await expect(commandFinished(ports, { commandId: 'cmd-b', status: 'Success' })).resolves.toEqual({ woke: true });
  });

  it('rethrows a failure to read the token store', async () => {
    const ports = await twoCommands();
    ports.waves.completeCommand = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };

    await expect(commandFinished(ports, { commandId: 'cmd-a', status: 'Success' })).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
  });

  it('rethrows any other failure to wake the execution', async () => {
    const ports = await twoCommands();
    ports.callbacks.stale.set('wave-token', 'ThrottlingException');
    await commandFinished(ports, { commandId: 'cmd-a', status: 'Success' });

    await expect(commandFinished(ports, { commandId: 'cmd-b', status: 'Success' })).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
