// The registries list and the add form: where each entry comes from, what the plain-http switch
// shows before the user touches it, and the reference a picked tag opens.
import type { RegistryEntry, RegistryList, RegistrySource } from '../types';

const SOURCES: Record<RegistrySource, string> = {
  dockerConfig: 'docker config',
  user: 'added',
};

export function sourceLabel(source: RegistrySource): string {
  return SOURCES[source];
}

/** Loopback hosts, which the core (like the engine) talks to over plain http unless told otherwise. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0];
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * The plain-http switch: what it shows, and what add_registry is sent. Untouched, it shows the
 * core's default for the host and sends null so the core decides.
 */
export function plainHttpChoice(host: string, touched: boolean | null): { checked: boolean; send: boolean | null } {
  return touched === null ? { checked: isLoopbackHost(host), send: null } : { checked: touched, send: touched };
}

/** The registries in the order shown: the core's order (added first, then the docker config's). */
export function registryRows(list: RegistryList | null): RegistryEntry[] {
  return list?.registries ?? [];
}

/** The reference a tag row opens. */
export function tagReference(registry: string, repository: string, tag: string): string {
  return `${registry}/${repository}:${tag}`;
}
