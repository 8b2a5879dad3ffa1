// Inspections shaped like what the core returns for a 3-platform BuildKit image, for the tests.
import type { Attestation, Inspection, Layer, PlatformImage } from '../types';

export const BASE = 'sha256:' + 'b'.repeat(64);
export const layer = (digest: string, size: number, sharedBy: number): Layer => ({
  digest,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  size,
  sharedBy,
});

export const provenanceAttestation = (): Attestation => ({
  digest: 'sha256:' + 'a'.repeat(64),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 840,
  annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
  statements: [{ predicateType: 'https://slsa.dev/provenance/v0.2', mediaType: 'application/vnd.in-toto+json', digest: 'sha256:' + 'c'.repeat(64), size: 1500 }],
  provenance: {
    predicateType: 'https://slsa.dev/provenance/v0.2',
    builderId: null,
    buildType: 'https://mobyproject.org/buildkit@v1',
    frontend: 'dockerfile.v0',
    buildArgs: { B: '2', A: '1' },
    materials: [{ uri: 'pkg:docker/127.0.0.1:5055/busybox@latest', digest: 'sha256:' + 'd'.repeat(64) }],
    source: 'Dockerfile',
    revision: null,
    startedOn: null,
    finishedOn: null,
  },
  sbom: null,
  error: null,
});

export function platformImage(platform: string, n: number, layers: Layer[], attested = true): PlatformImage {
  const [os, architecture, variant] = platform.split('/');
  return {
    key: String(n - 1),
    parent: null,
    platform,
    os,
    architecture,
    variant: variant ?? null,
    osVersion: null,
    osFeatures: [],
    digest: `sha256:${String(n).repeat(64)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    manifestSize: 700,
    annotations: {},
    manifestAnnotations: {},
    compressedSize: layers.reduce((s, l) => s + l.size, 0),
    configDigest: `sha256:${'e'.repeat(63)}${n}`,
    configSize: 500,
    config: {
      created: '2026-03-01T10:20:30.123456Z',
      author: null,
      env: ['PATH=/usr/bin:/bin'],
      entrypoint: [],
      cmd: ['sh'],
      workingDir: null,
      user: null,
      labels: { z: '1', a: '2' },
      exposedPorts: [],
      volumes: [],
      stopSignal: null,
    },
    configRaw: `{"architecture":"${architecture}"}`,
    layers,
    history: [
      { created: null, createdBy: 'BusyBox', comment: null, emptyLayer: false, layerDigest: layers[0]?.digest ?? null },
      { created: null, createdBy: '/bin/sh -c #(nop)  CMD ["sh"]', comment: null, emptyLayer: true, layerDigest: null },
      { created: null, createdBy: 'RUN /bin/sh -c uname -m > /m # buildkit', comment: 'buildkit.dockerfile.v0', emptyLayer: false, layerDigest: layers[1]?.digest ?? null },
    ],
    attestations: attested ? [provenanceAttestation()] : [],
    referrers: [],
    raw: `{"schemaVersion":2,"n":${n}}`,
    cliRaw: `docker buildx imagetools inspect --raw 127.0.0.1:5055/e2e/images-view@sha256:${String(n).repeat(64)}`,
    error: null,
  };
}

export function threePlatforms(): Inspection {
  const platforms = [
    platformImage('linux/amd64', 1, [layer(BASE, 2_000_000, 3), layer('sha256:' + '1'.repeat(63) + 'f', 100, 1)]),
    platformImage('linux/arm64', 2, [layer(BASE, 2_000_000, 3), layer('sha256:' + '2'.repeat(63) + 'f', 120, 1)]),
    platformImage('linux/arm/v7', 3, [layer(BASE, 2_000_000, 3), layer('sha256:' + '3'.repeat(63) + 'f', 1_000_000, 1)]),
  ];
  return {
    name: '127.0.0.1:5055/e2e/images-view:42',
    reference: { registry: '127.0.0.1:5055', repository: 'e2e/images-view', tag: '42', digest: null },
    digest: 'sha256:' + '9'.repeat(64),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1600,
    kind: 'index',
    note: null,
    raw: '{"schemaVersion":2,"manifests":[]}',
    annotations: {},
    platforms,
    indexes: [],
    others: [],
    notFollowed: 0,
    referrers: [],
    sizeMatrix: {
      rows: platforms.map((p) => ({
        platform: p.platform,
        digest: p.digest,
        total: p.compressedSize,
        shared: 2_000_000,
        unique: p.compressedSize - 2_000_000,
        layers: p.layers.length,
      })),
      sharedByAll: 2_000_000,
      largest: 3_000_000,
    },
    pullByDigest: '127.0.0.1:5055/e2e/images-view@sha256:' + '9'.repeat(64),
    cli: 'docker buildx imagetools inspect 127.0.0.1:5055/e2e/images-view:42',
    cliRaw: 'docker buildx imagetools inspect --raw 127.0.0.1:5055/e2e/images-view:42',
    pullCli: 'docker pull 127.0.0.1:5055/e2e/images-view@sha256:' + '9'.repeat(64),
  };
}

/** A plain image (no index), as `docker push` of a single-platform build makes. */
export function singleImage(): Inspection {
  const only = platformImage('linux/amd64', 5, [layer(BASE, 2_000_000, 1)], false);
  return {
    ...threePlatforms(),
    name: 'docker.io/library/alpine:latest',
    reference: { registry: 'docker.io', repository: 'library/alpine', tag: 'latest', digest: null },
    digest: only.digest,
    mediaType: only.mediaType,
    kind: 'image',
    raw: only.raw ?? '',
    platforms: [{ ...only, key: '0', raw: null, cliRaw: null }],
    sizeMatrix: { rows: [{ platform: 'linux/amd64', digest: only.digest, total: 2_000_000, shared: 2_000_000, unique: 0, layers: 1 }], sharedByAll: 2_000_000, largest: 2_000_000 },
    pullByDigest: `docker.io/library/alpine@${only.digest}`,
    cli: 'docker buildx imagetools inspect docker.io/library/alpine:latest',
    cliRaw: 'docker buildx imagetools inspect --raw docker.io/library/alpine:latest',
    pullCli: `docker pull docker.io/library/alpine@${only.digest}`,
  };
}

/**
 * An OCI index listing one manifest twice (linux/amd64, and windows/amd64 with an OS version), with
 * annotations on the index and on an entry: valid OCI, and what left the inspector blank.
 */
export function oneManifestTwice(): Inspection {
  const base = threePlatforms();
  const linux = platformImage('linux/amd64', 1, [layer(BASE, 2_000_000, 2)], false);
  const windows: PlatformImage = {
    ...linux,
    key: '1',
    platform: 'windows/amd64',
    os: 'windows',
    osVersion: '10.0.17763.1234',
    annotations: { 'org.example.entry': 'windows' },
  };
  const platforms = [linux, windows];
  return {
    ...base,
    annotations: { 'org.opencontainers.image.title': 'twice' },
    platforms,
    sizeMatrix: {
      rows: platforms.map((p) => ({ platform: p.platform, digest: p.digest, total: p.compressedSize, shared: 2_000_000, unique: 0, layers: 1 })),
      sharedByAll: 2_000_000,
      largest: 2_000_000,
    },
  };
}

/** An index whose second entry is an index of two platforms. */
export function nestedIndex(): Inspection {
  const base = threePlatforms();
  const [amd64, arm64, armv7] = base.platforms;
  return {
    ...base,
    platforms: [amd64, { ...arm64, key: '1.0', parent: '1' }, { ...armv7, key: '1.1', parent: '1' }],
    indexes: [
      {
        key: '1',
        parent: null,
        digest: 'sha256:' + '7'.repeat(64),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        size: 600,
        platform: null,
        osVersion: null,
        annotations: { 'org.example.kind': 'nested' },
        indexAnnotations: { 'org.example.level': 'inner' },
        notFollowed: 0,
        raw: '{}',
        error: null,
      },
    ],
  };
}
