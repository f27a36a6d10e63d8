// Which subscribers can share one execution: the same document and operation,
// the same values for the variables the selection set uses and for those of
// root arguments that change what it renders (locationIds; productIds and
// maxUpdatesPerSecond only choose which products and how often, so they do
// not count), and the same kind of viewer (admins may see fields others may not). The fields under
// StockChange depend on nobody's identity: a customer sees what anyone sees.
import { Kind, visit, type ASTNode, type DocumentNode, type ExecutionArgs, type OperationDefinitionNode } from "graphql";

/** Root arguments that choose what a subscriber is sent, not how it is rendered. */
const ROUTING_ARGUMENTS = new Set(["productIds", "maxUpdatesPerSecond"]);

const usedVariables = new WeakMap<DocumentNode, Map<string | undefined, string[]>>();

export function operationShape(args: ExecutionArgs, admin: boolean): string {
  const names = variablesOutsideRootArguments(args.document, args.operationName ?? undefined);
  const values = names.map((n) => (args.variableValues as Record<string, unknown> | undefined)?.[n]);
  return JSON.stringify([args.document.loc?.source.body ?? "", args.operationName ?? null, values, admin]);
}

function variablesOutsideRootArguments(document: DocumentNode, operationName: string | undefined): string[] {
  let perOperation = usedVariables.get(document);
  if (!perOperation) usedVariables.set(document, (perOperation = new Map()));
  let names = perOperation.get(operationName);
  if (names) return names;
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  const found = new Set<string>();
  const collect = (node: ASTNode) =>
    visit(node, {
      Variable: (v) => void found.add(v.name.value),
      // A variable definition names the variable; it does not use it.
      VariableDefinition: () => false,
    });
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      for (const arg of selection.arguments ?? []) if (!ROUTING_ARGUMENTS.has(arg.name.value)) collect(arg);
      selection.directives?.forEach(collect);
      if (selection.selectionSet) collect(selection.selectionSet);
    } else collect(selection);
  }
  // Fragments can be spread anywhere below the root field.
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) collect(d);
  operation?.directives?.forEach(collect);
  names = [...found].sort();
  perOperation.set(operationName, names);
  return names;
}
