/** A location as output names it: a docker:// reference in full, without the credentials it may carry. */
export async function shownLocation(spec: string): Promise<string> {
  if (!spec.startsWith('docker://')) return spec;
  const { formatReference, parseReference } = await import('@concil/oci-spec');
  return formatReference(parseReference(spec), true);
}
