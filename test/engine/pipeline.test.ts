/**
 * The commit pipeline: a batch's state commit runs while the next batch is
 * prepared, and a commit that failed must stop the next one before it is
 * handed to the store (it was decided on what the failed one would have saved).
 */
import { describe, expect, it } from 'vitest';
import { CommitPipeline } from '../../src/engine/pipeline.js';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('CommitPipeline', () => {
  it('reports a failed commit before the next is handed on, once', async () => {
    const p = new CommitPipeline(2);
    let fail: (e: Error) => void = () => {};
    await p.add(
      new Promise<void>((_, reject) => {
        fail = reject;
      }),
    );
    expect(() => p.throwIfFailed()).not.toThrow();
    fail(new Error('connection lost'));
    await tick();
    expect(() => p.throwIfFailed()).toThrow('connection lost');
    // Reported once: the pass that saw it fails; the next pass starts clean.
    expect(() => p.throwIfFailed()).not.toThrow();
  });

  it('drain waits for every commit and throws the first that failed', async () => {
    const p = new CommitPipeline(2);
    const order: string[] = [];
    await p.add(tick().then(() => void order.push('a')));
    await p.add(tick().then(() => Promise.reject(new Error('b failed'))));
    await expect(p.drain()).rejects.toThrow('b failed');
    expect(order).toEqual(['a']);
  });
});
