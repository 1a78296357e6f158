// Subscribe-time and list-time filters: a CEL expression over `payment` (the payment.Payment
// message pa streams), compiled once per request with @bufbuild/cel and evaluated per payment.
// @bufbuild/cel has no type checker or cost model yet, so compiling adds what a request must not
// get past (its length, 2048 at most, is a buf.validate rule of the request fields): a bounded AST (size, depth, no nested comprehension: every loop is over one
// payment's fields, so evaluation is linear in the payment), fields that exist on Payment, and a
// probe run on an empty payment that turns unknown functions and mistyped operators into errors
// with their position instead of silently excluding every payment.
import { celEnv, isCelError, objectType, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import type { Expr, ParsedExpr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { create, createRegistry } from "@bufbuild/protobuf";
import { file_payment_payment, type Payment, PaymentSchema } from "../../gen/payment/payment_pb.js";

/** Most AST nodes (identifiers, literals, calls, ...) a filter may have. */
export const MAX_FILTER_NODES = 400;
/** Deepest nesting of a filter's AST. */
export const MAX_FILTER_DEPTH = 40;

/** A filter that does not compile: INVALID_ARGUMENT with CEL's message and where it is. */
export class FilterExpressionError extends Error {
  override readonly name = "FilterExpressionError";
  constructor(
    /** The request field: "filter". */
    readonly field: string,
    readonly reason: string,
    /** 1-based line and column in the expression, when CEL knows it. */
    readonly position?: { line: number; column: number },
  ) {
    super(
      `${field} does not compile${position ? ` at line ${position.line}, column ${position.column}` : ""}: ${reason}`,
    );
  }
}

/** What one evaluation said: kept, dropped, or failed (a missing map key, a division by zero). */
export type FilterOutcome = "match" | "no_match" | "error";

export interface PaymentFilterExpression {
  /** The expression as the client wrote it. */
  readonly source: string;
  evaluate(payment: Payment): FilterOutcome;
}

const environment = celEnv({
  namespace: "payment",
  registry: createRegistry(file_payment_payment),
  variables: { payment: objectType(PaymentSchema) },
  funcs: strings,
});

const paymentFields = new Set(PaymentSchema.fields.map((field) => field.name));
const enumNames = new Set(file_payment_payment.enums.map((e) => e.name));
// Names CEL resolves itself: its types, usable in `type(x) == int` and conversions.
const builtinIdents = new Set([
  "int",
  "uint",
  "double",
  "string",
  "bool",
  "bytes",
  "list",
  "map",
  "null_type",
  "type",
  "dyn",
]);
// Messages of failures that no payment can avoid: the expression itself is wrong.
const compileTimeFailures = [/no matching overload/, /unbound function/, /unresolved attribute/];

function positionOf(
  parsed: ParsedExpr,
  source: string,
  id: bigint,
): { line: number; column: number } | undefined {
  const offset = parsed.sourceInfo?.positions[id.toString()];
  if (offset === undefined) return undefined;
  const before = source.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Walks the AST once: size, depth, comprehension nesting, identifiers and Payment's fields. */
function checkTree(parsed: ParsedExpr, source: string, field: string): void {
  let nodes = 0;
  const fail = (reason: string, expr: Expr) => {
    throw new FilterExpressionError(field, reason, positionOf(parsed, source, expr.id));
  };
  const visit = (expr: Expr | undefined, depth: number, scope: ReadonlySet<string>, loops: number): void => {
    if (!expr) return;
    nodes++;
    if (nodes > MAX_FILTER_NODES)
      fail(`the expression has more than ${MAX_FILTER_NODES} terms; simplify it`, expr);
    if (depth > MAX_FILTER_DEPTH) fail(`the expression nests deeper than ${MAX_FILTER_DEPTH} levels`, expr);
    const kind = expr.exprKind;
    switch (kind.case) {
      case "identExpr":
        if (
          kind.value.name !== "payment" &&
          !scope.has(kind.value.name) &&
          !builtinIdents.has(kind.value.name) &&
          !enumNames.has(kind.value.name)
        ) {
          fail(`undeclared reference to "${kind.value.name}" (the only variable is payment)`, expr);
        }
        return;
      case "selectExpr": {
        const operand = kind.value.operand;
        if (
          operand?.exprKind.case === "identExpr" &&
          operand.exprKind.value.name === "payment" &&
          !scope.has("payment")
        ) {
          const name = kind.value.field;
          if (!paymentFields.has(name) && !enumNames.has(name)) {
            fail(`payment has no field "${name}" (its fields: ${[...paymentFields].join(", ")})`, expr);
          }
          return;
        }
        visit(operand, depth + 1, scope, loops);
        return;
      }
      case "callExpr":
        visit(kind.value.target, depth + 1, scope, loops);
        for (const arg of kind.value.args) visit(arg, depth + 1, scope, loops);
        return;
      case "listExpr":
        for (const element of kind.value.elements) visit(element, depth + 1, scope, loops);
        return;
      case "structExpr":
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") visit(entry.keyKind.value, depth + 1, scope, loops);
          visit(entry.value, depth + 1, scope, loops);
        }
        return;
      case "comprehensionExpr": {
        if (loops > 0)
          fail(
            "a macro (all, exists, map, filter) inside another is not allowed: it costs quadratic time",
            expr,
          );
        const c = kind.value;
        visit(c.iterRange, depth + 1, scope, loops);
        const inner = new Set([...scope, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
        visit(c.accuInit, depth + 1, inner, loops + 1);
        visit(c.loopCondition, depth + 1, inner, loops + 1);
        visit(c.loopStep, depth + 1, inner, loops + 1);
        visit(c.result, depth + 1, inner, loops + 1);
        return;
      }
      default:
        return;
    }
  };
  visit(parsed.expr, 0, new Set(), 0);
}

/** Compiles a client's filter; FilterExpressionError says what is wrong and where. */
export function compilePaymentFilter(source: string, field = "filter"): PaymentFilterExpression {
  let parsed: ParsedExpr;
  try {
    parsed = parse(source);
  } catch (error) {
    const location = (error as { location?: { start?: { line: number; column: number } } }).location?.start;
    const message = (error as Error).message.replace(/^<input>:\d+:\d+: /, "");
    throw new FilterExpressionError(
      field,
      message,
      location ? { line: location.line, column: location.column } : undefined,
    );
  }
  checkTree(parsed, source, field);
  const run = plan(environment, parsed);
  const probe = run({ payment: create(PaymentSchema) });
  if (isCelError(probe)) {
    if (compileTimeFailures.some((pattern) => pattern.test(probe.message))) {
      throw new FilterExpressionError(
        field,
        probe.message,
        probe.exprId !== undefined ? positionOf(parsed, source, probe.exprId) : undefined,
      );
    }
  } else if (typeof probe !== "boolean") {
    throw new FilterExpressionError(
      field,
      `the expression must be true or false for a payment, not a value like ${String(probe)}`,
    );
  }
  return {
    source,
    evaluate(payment) {
      const result = run({ payment });
      if (result === true) return "match";
      if (result === false) return "no_match";
      return "error";
    },
  };
}
