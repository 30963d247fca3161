/**
 * Where the MLflow stand-in keeps artifact files: in memory (tests) or under a directory (`npm start`,
 * so a restart serves the same files). Paths are the artifact proxy's relative paths (`1/<run>/artifacts/model/MLmodel`).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/** One entry of an artifact listing, as MLflow's `GET /api/2.0/mlflow-artifacts/artifacts?path=` names it. */
export interface ArtifactEntry {
  /** The base name inside the listed directory. */
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface ArtifactStore {
  read(artifactPath: string): Buffer | undefined;
  write(artifactPath: string, bytes: Buffer): void;
  /** The direct children of a directory (none when it does not exist). */
  list(dir: string): ArtifactEntry[];
  /** Removes a file or a whole directory. */
  remove(artifactPath: string): void;
}

/** `a//b/` -> `a/b`; refuses `..` so no request reaches outside the store. */
export function normalizeArtifactPath(p: string): string {
  const parts = p.split("/").filter(Boolean);
  if (parts.includes("..")) throw new Error(`artifact path "${p}" may not contain ".."`);
  return parts.join("/");
}

export class MemoryArtifactStore implements ArtifactStore {
  private readonly files = new Map<string, Buffer>();

  read(p: string): Buffer | undefined {
    return this.files.get(normalizeArtifactPath(p));
  }

  write(p: string, bytes: Buffer): void {
    this.files.set(normalizeArtifactPath(p), bytes);
  }

  list(dir: string): ArtifactEntry[] {
    const root = normalizeArtifactPath(dir);
    const prefix = root ? `${root}/` : "";
    const entries = new Map<string, ArtifactEntry>();
    for (const [file, bytes] of this.files) {
      if (!file.startsWith(prefix)) continue;
      const [head, ...more] = file.slice(prefix.length).split("/");
      entries.set(head, more.length ? { path: head, is_dir: true } : { path: head, is_dir: false, file_size: bytes.length });
    }
    return [...entries.values()];
  }

  remove(p: string): void {
    const root = normalizeArtifactPath(p);
    for (const file of [...this.files.keys()]) if (file === root || file.startsWith(`${root}/`)) this.files.delete(file);
  }
}

export class DiskArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  read(p: string): Buffer | undefined {
    const file = this.full(p);
    try {
      return statSync(file).isFile() ? readFileSync(file) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Through a temporary file, so a reader never sees half a file. */
  write(p: string, bytes: Buffer): void {
    const file = this.full(p);
    mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, bytes);
    renameSync(partial, file);
  }

  list(dir: string): ArtifactEntry[] {
    const full = this.full(dir);
    let names: string[];
    try {
      names = readdirSync(full);
    } catch {
      return [];
    }
    return names
      .filter((n) => !n.endsWith(".partial"))
      .map((name) => {
        const st = statSync(path.join(full, name));
        return st.isDirectory() ? { path: name, is_dir: true } : { path: name, is_dir: false, file_size: st.size };
      });
  }

  remove(p: string): void {
    rmSync(this.full(p), { recursive: true, force: true });
  }

  private full(p: string): string {
    return path.join(this.root, normalizeArtifactPath(p));
  }
}

/** Every file under a directory on disk, as relative paths with `/`. */
export function filesUnder(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...filesUnder(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}
