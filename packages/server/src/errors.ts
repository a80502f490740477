/**
 * The one catalogue of errors Firebrick returns. Clients and tests match on `code`, never on text.
 * Later features add their codes here, nowhere else.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: "The request is not valid." },
  TENANT_REQUIRED: { status: 400, message: "The tenant header is required." },
  UNAUTHENTICATED: { status: 401, message: "Authentication is required." },
  // One message for every failed login (unknown user, wrong password, refused legacy hash…).
  INVALID_CREDENTIALS: { status: 401, message: "Invalid username or password." },
  FORBIDDEN: { status: 403, message: "You are not allowed to do this." },
  TENANT_MISMATCH: { status: 403, message: "The tenant does not match." },
  NOT_FOUND: { status: 404, message: "Not found." },
  METHOD_NOT_ALLOWED: { status: 405, message: "Method not allowed." },
  // The request did not arrive in time (a slow body or slow headers); the connection is closed.
  REQUEST_TIMEOUT: { status: 408, message: "The request did not arrive in time." },
  CONFLICT: { status: 409, message: "The resource already exists." },
  PRECONDITION_FAILED: { status: 409, message: "A precondition of this change is not met." },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The request body must be JSON." },
  HEADERS_TOO_LARGE: { status: 431, message: "The request headers are too large." },
  RATE_LIMITED: { status: 429, message: "Too many requests; retry later." },
  INTERNAL: { status: 500, message: "Internal error." },
  UNAVAILABLE: { status: 503, message: "The service is temporarily unavailable." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * An error with a stable code from the catalogue; the HTTP layer turns it into
 * `{ error: { code, message, request_id } }` with the catalogue's status.
 *
 * @example
 * throw new AppError("NOT_FOUND", "No such device.");
 */
export class AppError extends Error {
  override name = "AppError";
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message ?? ERRORS[code].message, { cause: options.cause });
    this.status = ERRORS[code].status;
    this.headers = options.headers ?? {};
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string };
}
