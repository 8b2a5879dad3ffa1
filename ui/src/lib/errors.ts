// How a rejected command is presented: the core's message, a hint for what to do, and whether a
// Retry button makes sense. Every IPC rejection passes through toAppError first.
import type { AppError, ErrorCode } from './types';

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'invalidInput',
  'notFound',
  'alreadyExists',
  'engineUnreachable',
  'storeLocked',
  'storeCorrupt',
  'imageUnavailable',
  'bootFailed',
  'cancelled',
  'internal',
  'authRequired',
  'forbidden',
  'rateLimited',
  'digestMismatch',
  'malformed',
  'registryUnreachable',
]);

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODES.has(value);
}

/** Normalises whatever a rejected invoke produced (an AppError, a bare string, an Error) into an AppError. */
export function toAppError(reason: unknown): AppError {
  if (reason && typeof reason === 'object') {
    const r = reason as { code?: unknown; message?: unknown };
    if (isErrorCode(r.code) && typeof r.message === 'string') {
      return { code: r.code, message: r.message };
    }
    if (typeof r.message === 'string' && r.message !== '') {
      return { code: 'internal', message: r.message };
    }
  }
  if (typeof reason === 'string' && reason !== '') {
    return { code: 'internal', message: reason };
  }
  return { code: 'internal', message: 'unexpected error' + (reason === undefined ? '' : `: ${String(reason)}`) };
}

export function isCancelled(error: AppError): boolean {
  return error.code === 'cancelled';
}

export interface ErrorPresentation {
  /** 'info' for a cancellation the user asked for; 'error' for everything else. */
  tone: 'info' | 'error';
  message: string;
  /** What the user can do about it, or null when the message says it all. */
  hint: string | null;
  /** Whether trying the same thing again can help without changing anything. */
  retry: boolean;
}

const HINTS: Record<ErrorCode, string | null> = {
  invalidInput: null,
  notFound: 'It may have been changed outside Buildlane.',
  alreadyExists: 'Pick another name, or use the existing builder.',
  engineUnreachable: 'Start Docker, or pick another context.',
  storeLocked: 'Another buildx command holds the builder store; try again when it finishes.',
  storeCorrupt: 'Fix or remove the damaged file in the buildx store, then retry.',
  imageUnavailable: 'Check the network or the registry credentials for the BuildKit image.',
  bootFailed: null,
  cancelled: null,
  internal: null,
  authRequired: null,
  forbidden: 'Log in with an account that may read this repository.',
  rateLimited: null,
  digestMismatch: 'The registry served other bytes than the digest names: do not trust this copy.',
  malformed: null,
  registryUnreachable: 'Check the registry address, the network, and the insecure (plain http) switch.',
};

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'engineUnreachable',
  'storeLocked',
  'storeCorrupt',
  'imageUnavailable',
  'bootFailed',
  'cancelled',
  'internal',
  'registryUnreachable',
  'rateLimited',
  'authRequired',
]);

export function presentError(error: AppError): ErrorPresentation {
  return {
    tone: error.code === 'cancelled' ? 'info' : 'error',
    message: error.message,
    hint: HINTS[error.code],
    retry: RETRYABLE.has(error.code),
  };
}
