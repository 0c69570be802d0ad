/**
 * The delete guard's decision, and when it asks how many records are linked:
 * counting reads every link (tens of milliseconds at a million, on every pass
 * of a running tandem), so a capture pass asks only when the count decides.
 */
import { describe, expect, it } from 'vitest';
import { guardTrips, guardTripsCounting } from '../../src/engine/guard.js';

const guard = { maxFraction: 0.1, minRows: 5 };

describe('delete guard', () => {
  it('trips past the fraction once the minimum is reached, and not before', () => {
    expect(guardTrips(guard, 'right', 4, 10)).toBeNull();
    expect(guardTrips(guard, 'right', 5, 100)).toBeNull();
    expect(guardTrips(guard, 'right', 11, 100)).toEqual({ side: 'right', deletes: 11, linked: 100 });
    expect(guardTrips(null, 'right', 1000, 1)).toBeNull();
  });

  it('counts links only when the deletes could trip it, and then decides as guardTrips does', async () => {
    let counted = 0;
    const linked = async () => {
      counted++;
      return 100;
    };
    expect(await guardTripsCounting(guard, 'left', 0, linked)).toBeNull();
    expect(await guardTripsCounting(guard, 'left', 4, linked)).toBeNull();
    expect(await guardTripsCounting(null, 'left', 50, linked)).toBeNull();
    expect(counted).toBe(0);
    expect(await guardTripsCounting(guard, 'left', 11, linked)).toEqual({
      side: 'left',
      deletes: 11,
      linked: 100,
    });
    expect(await guardTripsCounting(guard, 'left', 10, linked)).toBeNull();
    expect(counted).toBe(2);
  });
});
