// @peculiar/x509 resolves its providers through tsyringe, which refuses to
// load without the Reflect metadata API, and the package that provides it
// (reflect-metadata) is not a dependency here. x509 registers only
// constructor-less classes, so a plain store is all tsyringe needs.
// Replace with `import 'reflect-metadata'` once that is a devDependency.
type MetadataTarget = object;
type Store = Map<unknown, unknown>;

const stores = new WeakMap<MetadataTarget, Store>();

function ownStore(target: MetadataTarget): Store {
  let store = stores.get(target);
  if (store === undefined) {
    store = new Map();
    stores.set(target, store);
  }
  return store;
}

function getOwnMetadata(key: unknown, target: MetadataTarget): unknown {
  return stores.get(target)?.get(key);
}

function getMetadata(key: unknown, target: MetadataTarget): unknown {
  for (let t: MetadataTarget | null = target; t !== null; t = Object.getPrototypeOf(t)) {
    const value = getOwnMetadata(key, t);
    if (value !== undefined) return value;
  }
  return undefined;
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== 'function') {
  Object.assign(reflect, {
    getMetadata,
    getOwnMetadata,
    defineMetadata: (key: unknown, value: unknown, target: MetadataTarget) => {
      ownStore(target).set(key, value);
    },
    metadata:
      (key: unknown, value: unknown) =>
      (target: MetadataTarget): void => {
        ownStore(target).set(key, value);
      },
  });
}
