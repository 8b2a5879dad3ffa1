import { describe, expect, it, vi } from 'vitest';
import type { Attachment } from '../types';
import { openAttachment } from './attachments';

const provenance: Attachment = {
  digest: 'sha256:p',
  mediaType: 'application/vnd.in-toto+json',
  size: 10,
  predicateType: 'https://slsa.dev/provenance/v0.2',
  platform: 'linux/arm64',
};

function images() {
  return { openAttestations: vi.fn(async () => {}), openRecordAttestation: vi.fn(async () => {}) };
}

describe('a record’s attachment opened in the Images view', () => {
  it('opens the pushed image on its attestations, from the registry', async () => {
    const session = images();
    const where = { location: { hash: '#build' } };
    const image = '127.0.0.1:5055/app@sha256:ab';
    await openAttachment(session, { source: { kind: 'builder', builder: '' }, buildRef: 'r1', attachment: provenance, pushedImage: image }, where);
    expect(session.openAttestations).toHaveBeenCalledWith(image, 'linux/arm64');
    expect(session.openRecordAttestation).not.toHaveBeenCalled();
    expect(where.location.hash).toBe(`#images?ref=${encodeURIComponent(image)}`);
  });

  it('reads one never pushed from where the record lives', async () => {
    const session = images();
    const where = { location: { hash: '#build' } };
    const source = { kind: 'bundle', path: '/tmp/b.dockerbuild' } as const;
    await openAttachment(session, { source, buildRef: 'r1', attachment: provenance, pushedImage: null }, where);
    expect(session.openRecordAttestation).toHaveBeenCalledWith(source, 'r1', 'sha256:p');
    expect(where.location.hash).toBe('#images');
  });
});
