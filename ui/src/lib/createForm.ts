// The create-builder form's fields and their translation to a CreateBuilderRequest. Only parsing
// happens here; whether a value is valid is the core's decision (its errors are shown inline).
import type { Builder, CreateBuilderRequest } from './types';

export interface CreateForm {
  name: string;
  driver: string;
  /** The remote driver's daemon address: tcp://HOST:PORT or unix:///PATH. */
  endpoint: string;
  /** Textarea: one key=value per line. */
  driverOpts: string;
  buildkitdFlags: string;
  buildkitdConfig: string;
  /** Checked common platforms. */
  platformChoices: string[];
  /** Free text: more platforms, separated by commas or whitespace. */
  platformsText: string;
  useBuilder: boolean;
  bootstrap: boolean;
  /** Adds a node to the existing builder `name` (`--append`). */
  append: boolean;
  /** The node's name (`--node`); empty: the next free one. */
  node: string;
}

export function emptyCreateForm(): CreateForm {
  return {
    name: '',
    driver: 'docker-container',
    endpoint: '',
    driverOpts: '',
    buildkitdFlags: '',
    buildkitdConfig: '',
    platformChoices: [],
    platformsText: '',
    useBuilder: false,
    bootstrap: true,
    append: false,
    node: '',
  };
}

/** The form that appends a node to `builder`: its name and driver are the builder's. */
export function appendNodeForm(builder: Builder): CreateForm {
  return { ...emptyCreateForm(), name: builder.name, driver: builder.driver, append: true, bootstrap: false };
}

/** One item per non-blank line, trimmed; lines starting with `#` are comments. */
export function parseDriverOpts(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Checked platforms first (in the order given), then the free text's; each platform once. */
export function parsePlatforms(choices: readonly string[], text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of [...choices, ...text.split(/[\s,]+/)]) {
    const t = p.trim();
    if (t !== '' && !seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

export function toCreateRequest(form: CreateForm): CreateBuilderRequest {
  const config = form.buildkitdConfig.trim();
  return {
    name: form.name.trim(),
    driver: form.driver,
    // Only a remote builder has an address of its own; the others run on the context's engine.
    endpoint: form.driver === 'remote' ? form.endpoint.trim() : '',
    driverOpts: parseDriverOpts(form.driverOpts),
    buildkitdFlags: form.buildkitdFlags.trim(),
    buildkitdConfig: config === '' ? null : config,
    platforms: parsePlatforms(form.platformChoices, form.platformsText),
    useBuilder: form.useBuilder,
    bootstrap: form.bootstrap,
    append: form.append,
    node: form.node.trim(),
  };
}
