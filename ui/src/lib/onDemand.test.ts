import { describe, expect, it, vi } from 'vitest';
import { onDemand } from './onDemand';

describe('onDemand', () => {
  it('loads the module once however often the view is shown', async () => {
    const load = vi.fn(async () => ({ default: 'BuildView' }));
    const view = onDemand(load);
    expect(await view()).toBe('BuildView');
    expect(await view()).toBe('BuildView');
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('tries again after a load that failed', async () => {
    const load = vi
      .fn<() => Promise<{ default: string }>>()
      .mockRejectedValueOnce(new Error('chunk missing'))
      .mockResolvedValueOnce({ default: 'ImagesView' });
    const view = onDemand(load);
    await expect(view()).rejects.toThrow('chunk missing');
    expect(await view()).toBe('ImagesView');
    expect(load).toHaveBeenCalledTimes(2);
  });
});
