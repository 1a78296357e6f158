// What an Identity may see and do, checked by every RPC of every protocol. A topic is visible when
// TOPIC_ALLOWLIST allows it (for every caller) and one of the identity's `read:` globs matches it;
// a tenant-bound identity sees only payments whose TENANT_METADATA_KEY is its tenant; without
// `pii` it sees payments masked (pii-mask.ts); the dead-letter service needs `admin`.
import picomatch from "picomatch";
import type { Payment, PaymentEvent } from "../../gen/payment/payment_pb.js";
import { topicPolicy } from "../rpc/request-validation.js";
import type { PaymentQuery, StoredPayment, TenantFilter } from "../store/payment-store.js";
import { ofTenant } from "../store/payment-store.js";
import { type Grants, type Identity, PermissionError } from "./identity.js";
import { PaymentMask } from "./pii-mask.js";

export interface AccessSettings {
  /** TOPIC_ALLOWLIST. */
  topicAllowlist: readonly string[];
  /** TENANT_METADATA_KEY: the metadata key a tenant-bound identity's tenant is matched against. */
  tenantMetadataKey?: string;
  /** PII_METADATA_KEYS. */
  piiMetadataKeys: readonly string[];
}

/** The grants as the OAuth 2 scope they came from, for messages. */
export function scopeOf(grants: Grants): string {
  const items = [
    ...grants.readTopics.map((glob) => `read:${glob}`),
    ...(grants.pii ? ["pii"] : []),
    ...(grants.admin ? ["admin"] : []),
    ...(grants.metrics ? ["metrics"] : []),
  ];
  return items.join(" ");
}

function missingGrant(identity: Identity, grant: string, needed: string): PermissionError {
  return new PermissionError(
    grant,
    `identity "${identity.name}" has no "${grant}" grant, which ${needed} needs (its scope is "${scopeOf(identity.grants)}")`,
  );
}

export class Access {
  private readonly allowlisted: (topic: string) => string;
  // Picomatch matchers of the identities' `read:` globs, made once per grants object.
  private readonly readers = new WeakMap<Grants, (topic: string) => boolean>();
  private readonly mask: PaymentMask;
  private readonly everyTopicAllowed: boolean;

  constructor(private readonly settings: AccessSettings) {
    this.allowlisted = topicPolicy(settings.topicAllowlist);
    this.mask = new PaymentMask(settings.piiMetadataKeys);
    this.everyTopicAllowed = settings.topicAllowlist.includes("*");
  }

  /**
   * The topic a stream, query or admin call names, when it may: a legal name TOPIC_ALLOWLIST allows
   * (else RequestError) and one the identity has a `read:` grant for (else PermissionError).
   */
  requireTopic(identity: Identity, topic: string, needed = `reading topic "${topic}"`): string {
    this.allowlisted(topic);
    if (!this.reader(identity.grants)(topic)) throw missingGrant(identity, `read:${topic}`, needed);
    return topic;
  }

  /** Whether the identity may see the topic at all (GetTopics, GetPayment, ListPayments). */
  topicVisible(identity: Identity, topic: string): boolean {
    if (!this.reader(identity.grants)(topic)) return false;
    try {
      this.allowlisted(topic);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * ListPayments' scope for this identity: the topics it may see among `storedTopics` (undefined
   * when it sees every topic there can be, which keeps the store's fastest counts) and its tenant.
   */
  listScope(identity: Identity, storedTopics: readonly string[]): Pick<PaymentQuery, "topics" | "tenant"> {
    const tenant = this.tenantOf(identity);
    const everyTopic = this.everyTopicAllowed && identity.grants.readTopics.includes("*");
    return {
      ...(everyTopic ? {} : { topics: storedTopics.filter((topic) => this.topicVisible(identity, topic)) }),
      ...(tenant ? { tenant } : {}),
    };
  }

  /** The dead-letter service: `admin`, and the topic visible as for a stream. */
  requireAdmin(identity: Identity, topic: string): string {
    if (!identity.grants.admin) throw missingGrant(identity, "admin", "the dead-letter service");
    return this.requireTopic(identity, topic, `the dead letters of topic "${topic}"`);
  }

  /** Filtering ListPayments by customer_email would tell an identity without `pii` who paid. */
  requirePii(identity: Identity, needed: string): void {
    if (!identity.grants.pii) throw missingGrant(identity, "pii", needed);
  }

  /** The tenant binding as a filter; a bound identity on a pa without TENANT_METADATA_KEY sees nothing. */
  tenantOf(identity: Identity): TenantFilter | undefined {
    if (identity.tenant === undefined) return undefined;
    const key = this.settings.tenantMetadataKey;
    if (!key) {
      throw new PermissionError(
        "tenant",
        `identity "${identity.name}" is bound to a tenant, but this pa has no TENANT_METADATA_KEY to match it against; set it (e.g. merchant_id)`,
      );
    }
    return { key, value: identity.tenant };
  }

  /** Whether GetPayment may return this payment: its topic visible, and of the identity's tenant. */
  maySee(identity: Identity, stored: StoredPayment): boolean {
    if (!this.topicVisible(identity, stored.source.topic)) return false;
    const tenant = this.tenantOf(identity);
    return tenant === undefined || ofTenant(stored.payment, tenant);
  }

  /** What the identity sees of a payment. */
  payment(identity: Identity, payment: Payment): Payment {
    return identity.grants.pii ? payment : this.mask.payment(payment);
  }

  /**
   * What the identity sees of stream events; undefined when it sees them as they are. The masked
   * variant of an event is one object for every masked subscriber, so it is encoded once.
   */
  eventView(identity: Identity): ((event: PaymentEvent) => PaymentEvent) | undefined {
    if (identity.grants.pii) return undefined;
    return (event) => this.mask.event(event);
  }

  /** What a filter expression of the identity is evaluated on; undefined: the payment as it is. */
  expressionView(identity: Identity): ((payment: Payment) => Payment) | undefined {
    if (identity.grants.pii) return undefined;
    return (payment) => this.mask.payment(payment);
  }

  private reader(grants: Grants): (topic: string) => boolean {
    let reader = this.readers.get(grants);
    if (!reader) {
      reader = grants.readTopics.length > 0 ? picomatch([...grants.readTopics], { dot: true }) : () => false;
      this.readers.set(grants, reader);
    }
    return reader;
  }
}
