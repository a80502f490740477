import { grpcStatusOf } from "@firebrick/lock/firestore";
import { FieldValue, type Firestore, Timestamp } from "@google-cloud/firestore";
import { NotReadyError } from "../http/health.js";
import { type BootstrapConfig, DEFAULT_BOOTSTRAP_CONFIG } from "./config.js";

/** The stored bootstrap document. */
export interface StoredBootstrapDocument {
  schema_version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  managed_by?: string;
}

export interface DocumentOutcome {
  status: "ok" | "changed" | "failed";
  detail: string;
  /** Document writes this step made (0 on a compliant re-run). */
  writes: number;
}

type Verdict =
  | { kind: "compliant"; version: number }
  | { kind: "upgrade"; from: number }
  | { kind: "incompatible"; reason: string };

/** Judges a stored document against the configured schema version, without touching it. */
export function judgeBootstrapDocument(data: Record<string, unknown>, schemaVersion: number): Verdict {
  const version = data.schema_version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    return {
      kind: "incompatible",
      reason: `schema_version is ${JSON.stringify(version) ?? "missing"}, not a positive integer`,
    };
  }
  if (!(data.created_at instanceof Timestamp))
    return { kind: "incompatible", reason: "created_at is missing or not a timestamp" };
  if (version > schemaVersion) {
    return {
      kind: "incompatible",
      reason: `schema downgrade refused: the document is at schema_version ${version}, the configuration asks for ${schemaVersion}`,
    };
  }
  if (version < schemaVersion) return { kind: "upgrade", from: version };
  return { kind: "compliant", version };
}

/**
 * Makes the bootstrap document compliant: creates it when missing (`create()`, so that of two
 * concurrent first runs exactly one writes), upgrades `schema_version` on safe drift without touching
 * `created_at`, leaves a compliant document alone, refuses a downgrade or a malformed document. In
 * preflight, anything it would change is a failure and nothing is written.
 */
export async function reconcileBootstrapDocument(
  db: Firestore,
  config: Pick<BootstrapConfig, "collectionName" | "docId" | "schemaVersion">,
  options: { preflight: boolean },
): Promise<DocumentOutcome> {
  const path = `${config.collectionName}/${config.docId}`;
  const ref = db.collection(config.collectionName).doc(config.docId);
  let writes = 0;
  // Bounded: each pass either settles or loses a race to another writer, which can only happen a few times.
  for (let pass = 0; pass < 5; pass++) {
    const snapshot = await ref.get();
    if (!snapshot.exists) {
      if (options.preflight)
        return {
          status: "failed",
          detail: `bootstrap document ${path} is missing (preflight: would create it)`,
          writes,
        };
      try {
        await ref.create({
          schema_version: config.schemaVersion,
          created_at: FieldValue.serverTimestamp(),
          updated_at: FieldValue.serverTimestamp(),
          managed_by: "firebrick bootstrap",
        });
        writes++;
        return {
          status: "changed",
          detail: `created bootstrap document ${path} (schema_version ${config.schemaVersion})`,
          writes,
        };
      } catch (error) {
        // Another bootstrap created it first: judge theirs like any existing document.
        if (grpcStatusOf(error) === "ALREADY_EXISTS") continue;
        throw error;
      }
    }
    const verdict = judgeBootstrapDocument(snapshot.data() ?? {}, config.schemaVersion);
    if (verdict.kind === "incompatible") {
      return {
        status: "failed",
        detail: `bootstrap document ${path} is incompatible: ${verdict.reason}`,
        writes,
      };
    }
    if (verdict.kind === "compliant") {
      return {
        status: writes > 0 ? "changed" : "ok",
        detail: `bootstrap document ${path} is compliant (schema_version ${verdict.version})`,
        writes,
      };
    }
    if (options.preflight) {
      return {
        status: "failed",
        detail: `bootstrap document ${path} has drifted: schema_version ${verdict.from}, configured ${config.schemaVersion} (preflight: would upgrade it)`,
        writes,
      };
    }
    try {
      // Only if nobody changed it since we judged it; created_at is deliberately not in the update.
      await ref.update(
        { schema_version: config.schemaVersion, updated_at: FieldValue.serverTimestamp() },
        { lastUpdateTime: snapshot.updateTime! },
      );
      writes++;
      return {
        status: "changed",
        detail: `upgraded bootstrap document ${path} from schema_version ${verdict.from} to ${config.schemaVersion}`,
        writes,
      };
    } catch (error) {
      // The document changed since it was judged: judge it again.
      if (grpcStatusOf(error) === "FAILED_PRECONDITION") continue;
      throw error;
    }
  }
  return {
    status: "failed",
    detail: `bootstrap document ${path} kept changing under concurrent writers`,
    writes,
  };
}

/**
 * A read-only readiness check for `/readyz`: fails unless the bootstrap document exists and is at the
 * configured schema version.
 *
 * @example
 * registerHealthRoutes(app, [bootstrapDocumentCheck(firestore)]);
 */
export function bootstrapDocumentCheck(
  db: Firestore,
  config: Pick<BootstrapConfig, "collectionName" | "docId" | "schemaVersion"> = DEFAULT_BOOTSTRAP_CONFIG,
): { name: string; check(): Promise<void> } {
  const path = `${config.collectionName}/${config.docId}`;
  return {
    name: "bootstrap",
    async check() {
      const snapshot = await db.collection(config.collectionName).doc(config.docId).get();
      if (!snapshot.exists)
        throw new NotReadyError("missing", `bootstrap document ${path} is missing (run firebrick bootstrap)`);
      const verdict = judgeBootstrapDocument(snapshot.data() ?? {}, config.schemaVersion);
      if (verdict.kind === "incompatible")
        throw new NotReadyError(
          "incompatible",
          `bootstrap document ${path} is incompatible: ${verdict.reason}`,
        );
      if (verdict.kind === "upgrade") {
        throw new NotReadyError(
          "outdated",
          `bootstrap document ${path} is at schema_version ${verdict.from}, expected ${config.schemaVersion}`,
        );
      }
    },
  };
}
