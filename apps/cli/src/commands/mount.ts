import type { Command } from 'commander';

/** `concil mount DIR TARGET` / `concil umount TARGET`: the overlay of an image a `mounts:DIR` copy wrote. */
export function registerMount(program: Command): void {
  program
    .command('mount')
    .description(
      'mount an image written by `concil copy … mounts:DIR` at TARGET (overlayfs, read-only; needs root)',
    )
    .argument('<dir>', 'the directory a mounts:DIR copy wrote')
    .argument('<target>', 'an existing directory to mount the image on')
    .action(async (dir: string, target: string) => {
      const { mountImage } = await import('@concil/pipeline');
      await mountImage(dir, target);
    });
  program
    .command('umount')
    .description('unmount an image mounted by `concil mount`, and its squashfs layers')
    .argument('<target>', 'where the image is mounted')
    .action(async (target: string) => {
      const { unmountImage } = await import('@concil/pipeline');
      await unmountImage(target);
    });
}
