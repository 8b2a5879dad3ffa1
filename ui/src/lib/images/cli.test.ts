import { describe, expect, it } from 'vitest';
import { dockerPull, imagetoolsInspect, shellWord } from './cli';

describe('cli', () => {
  it('gives the imagetools command for a reference', () => {
    expect(imagetoolsInspect(' alpine ')).toBe('docker buildx imagetools inspect alpine');
    expect(imagetoolsInspect('127.0.0.1:5055/e2e/x@sha256:ab', true)).toBe(
      'docker buildx imagetools inspect --raw 127.0.0.1:5055/e2e/x@sha256:ab',
    );
    expect(dockerPull('r/a@sha256:ab')).toBe('docker pull r/a@sha256:ab');
  });
  it('quotes only what a shell would misread', () => {
    expect(shellWord('ghcr.io/o/r:tag')).toBe('ghcr.io/o/r:tag');
    expect(shellWord('a b')).toBe(`'a b'`);
    expect(shellWord(`it's`)).toBe(`'it'\\''s'`);
    expect(shellWord('')).toBe(`''`);
  });
});
