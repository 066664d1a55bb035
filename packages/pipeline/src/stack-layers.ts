import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  readdirSync,
  renameSync,
  rmSync,
  type Stats,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from './errors.js';
import { lstatOrNothing, SafeTree } from './safe-tree.js';
import type { StagedLayer } from './unpacking-target.js';

const privileged = process.geteuid?.() === 0;

/**
 * Stacks layers unpacked each in its own directory (whiteouts reported, not written) into one
 * tree at `rootfs`, as a runtime sees the image: the first layer's tree becomes the root, then each
 * next layer's whiteouts remove what is below (`.wh.NAME` the path, `.wh..wh..opq` a directory's
 * content) and its entries are moved over it by rename, replacing what they name except where both
 * are directories, which merge. No byte is copied; every parent is checked, as when unpacking.
 */
export function stackLayers(staging: string, layers: readonly StagedLayer[], rootfs: string): void {
  const root = join(staging, rootfs);
  for (const [i, layer] of layers.entries()) {
    const from = join(staging, layer.path);
    const tree = new SafeTree(root, layer.digest);
    if (i === 0) renameSync(from, root);
    else {
      for (const whiteout of layer.whiteouts) {
        if (whiteout.kind === 'remove') remove(tree, whiteout.path);
        else emptyDirectory(tree, whiteout.path);
      }
      merge(from, tree, '', layer.directories);
    }
    for (const link of layer.crossLayerLinks) linkBelow(tree, link.path, link.target);
  }
}

function remove(tree: SafeTree, path: string): void {
  if (!tree.parentsAreDirectories(path)) return; // below a link or a file: nothing there to remove
  rmSync(tree.absolute(path), { recursive: true, force: true });
  tree.forget(path);
}

function emptyDirectory(tree: SafeTree, path: string): void {
  if (
    path !== '' &&
    (!tree.parentsAreDirectories(path) || !lstatOrNothing(tree.absolute(path))?.isDirectory())
  )
    return;
  for (const name of readdirSync(tree.absolute(path))) remove(tree, path ? `${path}/${name}` : name);
}

function merge(from: string, tree: SafeTree, dir: string, explicit: ReadonlySet<string>): void {
  for (const name of readdirSync(join(from, dir))) {
    const path = dir ? `${dir}/${name}` : name;
    const source = join(from, path);
    const target = tree.absolute(path);
    const upper = lstatSync(source);
    const lower = lstatOrNothing(target);
    if (upper.isDirectory() && lower?.isDirectory()) {
      tree.isDirectory(path);
      merge(from, tree, path, explicit);
      if (explicit.has(path)) copyMetadata(upper, target);
      continue;
    }
    if (lower) {
      rmSync(target, { recursive: lower.isDirectory(), force: true });
      tree.forget(path);
    }
    renameSync(source, target);
  }
  if (dir === '' && explicit.has('')) copyMetadata(lstatSync(from), tree.root);
}

function copyMetadata(info: Stats, target: string): void {
  if (privileged) chownSync(target, info.uid, info.gid);
  chmodSync(target, info.mode & 0o7777);
  utimesSync(target, info.atime, info.mtime);
}

/** A hard link to a file of a layer below, made once that layer is in place. */
function linkBelow(tree: SafeTree, path: string, target: string): void {
  const info = tree.parentsAreDirectories(target) ? lstatOrNothing(tree.absolute(target)) : undefined;
  if (!info || info.isDirectory()) {
    throw new PipelineError(
      'LAYER_UNSAFE',
      `layer ${tree.layer} holds a hard link ${JSON.stringify(path)} to ${JSON.stringify(target)}, which is no file of the image; the layer is damaged or hostile, and nothing was written`,
      path,
    );
  }
  tree.parents(path, path);
  const existing = lstatOrNothing(tree.absolute(path));
  if (existing) rmSync(tree.absolute(path), { recursive: existing.isDirectory(), force: true });
  linkSync(tree.absolute(target), tree.absolute(path));
}
