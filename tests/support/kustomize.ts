// Renders a kustomization offline, for the deployment test: `kubectl
// kustomize` is not on a fresh CI machine and no maintained npm package
// renders kustomize. Hand-rolled on purpose, and small: it knows only what
// deploy/ uses (resources, namespace, images, replicas, JSON 6902 patches)
// and refuses anything else, so an overlay cannot silently use a feature it
// would render wrongly. Where kubectl is installed, the test compares this
// renderer's output with `kubectl kustomize`.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments, parse } from "yaml";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
} & Record<string, any>;

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"]);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  replicas?: { name: string; count: number }[];
  patches?: { target: { kind?: string; name?: string }; patch: string }[];
}

export function renderKustomization(dir: string): K8sObject[] {
  const k = parse(readFileSync(path.join(dir, "kustomization.yaml"), "utf8")) as Kustomization & Record<string, unknown>;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length) throw new Error(`${dir}/kustomization.yaml: ${unsupported.join(", ")} not supported by the test's renderer`);
  const objects = (k.resources ?? []).flatMap((r) => {
    const p = path.join(dir, r);
    return statSync(p).isDirectory() ? renderKustomization(p) : readObjects(p);
  });
  for (const o of objects) if (k.namespace) o.metadata.namespace = k.namespace;
  for (const image of k.images ?? []) {
    for (const c of objects.flatMap(containersOf)) {
      const [name, tag] = splitImage(c.image);
      if (name === image.name) c.image = `${image.newName ?? name}${(image.newTag ?? tag) ? `:${image.newTag ?? tag}` : ""}`;
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const target = objects.find((o) => ["Deployment", "StatefulSet", "ReplicaSet"].includes(o.kind) && o.metadata.name === name);
    if (!target) throw new Error(`${dir}: replicas for ${name}, which is not rendered`);
    target.spec.replicas = count;
  }
  for (const { target, patch } of k.patches ?? []) {
    const ops = parse(patch) as { op: string; path: string; value?: unknown }[];
    if (!Array.isArray(ops)) throw new Error(`${dir}: only JSON 6902 patches (a list of operations) are supported`);
    const matches = objects.filter((o) => (!target.kind || o.kind === target.kind) && (!target.name || o.metadata.name === target.name));
    if (!matches.length) throw new Error(`${dir}: patch target ${JSON.stringify(target)} matches nothing`);
    for (const o of matches) for (const op of ops) applyOperation(o, op);
  }
  return objects;
}

function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, "utf8")).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const o = doc.toJS() as K8sObject | null;
    return o ? [o] : [];
  });
}

/** The containers of a workload's pod template (or of a Pod). */
export function containersOf(o: K8sObject): { name: string; image: string; [k: string]: any }[] {
  const pod = o.kind === "Pod" ? o.spec : o.spec?.template?.spec;
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(":");
  return at > image.lastIndexOf("/") ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

/** RFC 6902 add, replace and remove on an RFC 6901 pointer. */
function applyOperation(doc: K8sObject, { op, path: pointer, value }: { op: string; path: string; value?: unknown }): void {
  const keys = pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  const last = keys.pop()!;
  let parent: any = doc;
  for (const key of keys) {
    parent = parent?.[Array.isArray(parent) ? Number(key) : key];
    if (parent === undefined) throw new Error(`patch ${op} ${pointer}: no ${key} in ${doc.kind}/${doc.metadata.name}`);
  }
  const index = Array.isArray(parent) ? (last === "-" ? parent.length : Number(last)) : undefined;
  if (op === "add") {
    if (index !== undefined) parent.splice(index, 0, value);
    else parent[last] = value;
  } else if (op === "replace" || op === "remove") {
    if (index !== undefined ? index >= parent.length : !(last in parent)) {
      throw new Error(`patch ${op} ${pointer}: nothing there in ${doc.kind}/${doc.metadata.name}`);
    }
    if (op === "remove") {
      if (index !== undefined) parent.splice(index, 1);
      else delete parent[last];
    } else if (index !== undefined) parent[index] = value;
    else parent[last] = value;
  } else {
    throw new Error(`patch op ${op} not supported by the test's renderer`);
  }
}
