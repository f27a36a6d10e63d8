// How big a document is, measured without expanding it: its tokens, and the
// fields its largest operation selects once every fragment spread is replaced
// by its fragment. Fragments that spread others twice double per level, so the
// expanded count can be astronomical for a 1 kB document; it is computed with
// each fragment's size worked out once (memoised by name), in time linear in
// the document, so it can be checked before anything that expands fragments
// (validation, graphql-jit's compiler, the complexity plugin) runs.
//
// Hand-rolled: graphql-armor limits depth, aliases, directives and tokens but
// not the expanded selection, and @pothos/plugin-complexity measures it only
// once execution starts, after graphql-jit has compiled the expansion.
import { Kind, TokenKind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from "graphql";

export interface DocumentSize {
  /** Lexical tokens of the document (its parse work). */
  tokens: number;
  /**
   * Fields of its largest operation with fragments expanded, as @pothos/plugin-complexity counts breadth,
   * except that a leaf field repeated in one selection set counts once (it is merged for free, e.g.
   * `{ __typename __typename }`); at most Number.MAX_SAFE_INTEGER.
   */
  fields: number;
}

const sizes = new WeakMap<DocumentNode, DocumentSize>();

/** The size of `document`, remembered per parsed document (Yoga caches those per query text). */
export function documentSize(document: DocumentNode): DocumentSize {
  let size = sizes.get(document);
  if (!size) sizes.set(document, (size = { tokens: tokensOf(document), fields: expandedFields(document) }));
  return size;
}

function tokensOf(document: DocumentNode): number {
  let tokens = 0;
  for (let token = document.loc?.startToken.next; token && token.kind !== TokenKind.EOF; token = token.next) tokens++;
  return tokens;
}

function expandedFields(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // Fragment name -> its expanded size; 0 while it is being measured, so a cycle (a validation error) ends.
  const measured = new Map<string, number>();
  const sizeOf = (set: SelectionSetNode | undefined): number => {
    let n = 0;
    const leaves = new Set<string>();
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD && !s.selectionSet) leaves.add(s.alias?.value ?? s.name.value);
      else if (s.kind === Kind.FIELD) n += 1 + sizeOf(s.selectionSet);
      else if (s.kind === Kind.INLINE_FRAGMENT) n += sizeOf(s.selectionSet);
      else {
        const name = s.name.value;
        if (!measured.has(name)) {
          measured.set(name, 0);
          measured.set(name, sizeOf(fragments.get(name)?.selectionSet));
        }
        n += measured.get(name)!;
      }
    }
    return Math.min(n + leaves.size, Number.MAX_SAFE_INTEGER);
  };
  let largest = 0;
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) largest = Math.max(largest, sizeOf(d.selectionSet));
  return largest;
}
