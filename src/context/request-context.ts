// Who is calling, independent of GraphQL: services receive this first.
export type Viewer =
  | { kind: "anonymous" }
  | { kind: "customer"; customerId: string }
  | { kind: "admin"; customerId?: string };

export interface RequestContext {
  viewer: Viewer;
}

export const anonymous: RequestContext = { viewer: { kind: "anonymous" } };
